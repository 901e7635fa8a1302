/**
 * V8 heap flags the service runs with: the image's ENTRYPOINT passes them to node
 * (test/image/dockerfile.test.ts keeps the two equal) and the gRPC benchmark starts the
 * product with them.
 *
 * Why: a check leaves a few hundred bytes of state that outlives young-generation GCs (session
 * and behaviour windows), so the old generation grows slowly. With V8's default limits for a
 * small heap, full mark-compact GCs then ran every 3–7 s at 2,000 checks/s, each stopping the
 * service for 3–9 ms, most of the gRPC p99 (2.5 ms against 1.2–1.4 ms with these flags). A
 * 128 MB starting old-space limit makes them rare (about one a minute at that rate); the
 * 32 MB semi-space keeps young-generation GCs far apart (every ≈ 0.35 s, under 1 ms each).
 * Heap use stays well inside the chart's 512 Mi memory limit.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128', '--max-semi-space-size=32'];
