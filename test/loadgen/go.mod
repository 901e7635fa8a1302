// The benchmark load generator (see main.go); built into .cache/bin by test/bench/grpc-check.ts.
module github.com/mcp-warden/mcp-warden/test/loadgen

go 1.25.0

require golang.org/x/net v0.47.0

require golang.org/x/text v0.31.0 // indirect
