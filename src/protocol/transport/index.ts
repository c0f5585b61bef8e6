/**
 * nng / SP ("scalability protocols") wire protocol on node:net:
 * REQ/REP and PUB/SUB over tcp:// and ipc://, interoperable with nng
 * (e.g. `nngcat`). See docs/transport.md.
 */
export { TransportError, type TransportErrorCode } from './errors.js';
export { parseEndpoint, MAX_IPC_PATH_BYTES, type Endpoint } from './endpoint.js';
export {
  SP_PROTO,
  SP_PEER,
  HANDSHAKE_SIZE,
  IPC_MSG_TYPE,
  encodeHandshake,
  parseHandshake,
  encodeFrameHeader,
  FrameDecoder,
  type DecoderSink,
} from './wire.js';
export { DEFAULT_LIMITS, type ConnectionLimits } from './connection.js';
export {
  RepServer,
  REP_DEFAULTS,
  type RepServerOptions,
  type RepHandler,
  type OversizedHandler,
  type OversizedRequest,
  type ReplyFn,
  type RequestInfo,
} from './rep.js';
export { ReqClient, REQ_DEFAULTS, type ReqClientOptions, type RequestOptions } from './req.js';
export { PubServer, SubClient, type PubServerOptions, type SubClientOptions } from './pubsub.js';
