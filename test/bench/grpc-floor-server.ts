/**
 * The floor for grpc-check.ts on this machine: a Check server written directly on node:http2
 * (no @grpc/grpc-js, no engine) that decodes each CheckRequest, parses its body as JSON and
 * allows. Whatever latency the benchmark reports against it comes from Node's HTTP/2, the load
 * generator and the machine, not from MCP Warden. Not a product server: no health service,
 * keepalive, deadlines or size limits. Prints `PORT <n>`; stops when stdin closes.
 * Run: node --import tsx test/bench/grpc-floor-server.ts  (or grpc-check.ts --floor)
 */
import http2 from 'node:http2';
import { grpcFrame } from '../../authz/envoy/grpc-server.js';
import { loadProtos, methodOf } from '../../authz/envoy/proto.js';

const method = methodOf(loadProtos().authorizationService, 'Check');
const allowFrame = grpcFrame(method.responseSerialize({ status: { code: 0, message: '' }, ok_response: {} }));

const server = http2.createServer();
server.on('stream', (stream) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    const request = method.requestDeserialize(Buffer.concat(chunks).subarray(5)) as { attributes?: { request?: { http?: { raw_body?: Buffer } } } };
    JSON.parse(request.attributes?.request?.http?.raw_body?.toString('utf8') ?? 'null');
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(allowFrame);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`PORT ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
