{{/* The prefix of every object name: the release name, or RELEASE-CHART when it does not
contain the chart name (the default release `mcp-warden` gives mcp-warden-operator, …). */}}
{{- define "mcp-warden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mcp-warden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" -}}
{{- end -}}

{{/* What a component's Deployment and Service select. The name is fixed, not derived from
the release: the operator's per-MCPServer NetworkPolicies admit discovery traffic from pods
labelled app.kubernetes.io/name=mcp-warden-operator (operator/controllers/mcpserver/network-policy.ts).
Call with (dict "ctx" $ "component" "operator"). */}}
{{- define "mcp-warden.selectorLabels" -}}
app.kubernetes.io/name: mcp-warden-{{ .component }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{/* Labels of every object as a map; commonLabels never replace the chart's own. Call with
(dict "ctx" $ "component" NAME), the component left out for objects shared by all. */}}
{{- define "mcp-warden.labelMap" -}}
{{- $ctx := .ctx -}}
{{- $labels := dict
  "helm.sh/chart" (include "mcp-warden.chart" $ctx)
  "app.kubernetes.io/instance" $ctx.Release.Name
  "app.kubernetes.io/version" $ctx.Chart.AppVersion
  "app.kubernetes.io/managed-by" $ctx.Release.Service
  "app.kubernetes.io/part-of" "mcp-warden" -}}
{{- with .component -}}
{{- $_ := set $labels "app.kubernetes.io/name" (printf "mcp-warden-%s" .) -}}
{{- $_ := set $labels "app.kubernetes.io/component" . -}}
{{- end -}}
{{- toYaml (merge $labels $ctx.Values.commonLabels) -}}
{{- end -}}

{{/* metadata.labels and metadata.annotations of an object. */}}
{{- define "mcp-warden.metadata" -}}
labels:
  {{- include "mcp-warden.labelMap" . | nindent 2 }}
{{- with .ctx.Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A pod template's labels: the selector, the component, commonLabels and the component's podLabels. */}}
{{- define "mcp-warden.podLabels" -}}
{{- $labels := fromYaml (include "mcp-warden.selectorLabels" .) -}}
{{- $_ := set $labels "app.kubernetes.io/component" .component -}}
{{- toYaml (merge $labels (.podLabels | default dict) .ctx.Values.commonLabels) -}}
{{- end -}}

{{- define "mcp-warden.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* host:port of the authz Service, what injected sidecars call. */}}
{{- define "mcp-warden.authzAddress" -}}
{{- printf "%s-authz.%s.svc:%d" (include "mcp-warden.fullname" .) .Release.Namespace (int .Values.authz.port) -}}
{{- end -}}

{{/* The Redis URL authz uses: authz.redis.url, else the chart's Redis when enabled, else none. */}}
{{- define "mcp-warden.redisUrl" -}}
{{- if and .Values.redis.enabled .Values.authz.redis.url -}}
{{- fail "set either redis.enabled (the chart's Redis) or authz.redis.url (an external Redis), not both" -}}
{{- else if .Values.authz.redis.url -}}
{{- .Values.authz.redis.url -}}
{{- else if .Values.redis.enabled -}}
{{- printf "redis://%s-redis.%s.svc:%d" (include "mcp-warden.fullname" .) .Release.Namespace (int .Values.redis.port) -}}
{{- end -}}
{{- end -}}
