/**
 * Error type for everything the SP transport reports to callers.
 *
 * `code` is one of the symbolic codes below, or the errno code of the
 * underlying socket error (e.g. 'ECONNREFUSED', 'ENOENT', 'EACCES').
 */
export type TransportErrorCode =
  /** A request, connect or handshake did not complete in time. */
  | 'timeout'
  /** The connection (or the client/server object) was closed. */
  | 'closed'
  /** The peer violated the SP wire protocol (bad handshake, bad frame, wrong peer protocol). */
  | 'protocol'
  /** A frame/message exceeded the configured maximum message size. */
  | 'too_large'
  /** The URL could not be parsed or uses an unsupported scheme. */
  | 'invalid_url'
  /** The listen address is already in use (a live ipc socket, EADDRINUSE). */
  | 'address_in_use'
  /** Refused for safety: the ipc socket's directory is world-writable, or a file that is not a socket has its path. */
  | 'insecure'
  /** ReqClient: too many requests already awaiting replies (maxPending). */
  | 'busy'
  /** ReqClient: the request's AbortSignal fired. */
  | 'aborted'
  /** errno-style codes passed through from node:net, e.g. 'ECONNREFUSED'. */
  | (string & {});

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  /**
   * Set on a failed request (ReqClient): true when all of it had been handed to the operating
   * system, so the peer may have read it and acted on it, whatever the failure (a reset, a
   * timeout, an abort); false when it cannot have been read whole (not sent yet, or its write
   * failed), so the peer never saw it.
   */
  readonly written: boolean | undefined;

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown; written?: boolean }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
    this.written = options?.written;
  }

  /** Wraps any error (typically a node:net errno error) into a TransportError. */
  static from(err: unknown, context?: string): TransportError {
    if (err instanceof TransportError) return err;
    const e = err as NodeJS.ErrnoException | undefined;
    const code = typeof e?.code === 'string' ? e.code : 'closed';
    const msg = e?.message ?? String(err);
    return new TransportError(code, context ? `${context}: ${msg}` : msg, { cause: err });
  }
}
