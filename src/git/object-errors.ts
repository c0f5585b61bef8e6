import { GritError } from '../core/errors.js';

export function objectError(message: string, details: Record<string, unknown> = {}): GritError {
  return new GritError('git_error', message, { details });
}

/** The git_error of an object larger than a read's `maxBytes` (`size` -1 when not known). */
export function tooLarge(oid: string | null, size: number, maxBytes: number): GritError {
  return objectError(`object${oid ? ` ${oid}` : ''} is ${size > maxBytes ? `${size} bytes, ` : ''}larger than the ${maxBytes} bytes allowed here`, {
    oid,
    size,
    max_bytes: maxBytes,
  });
}
