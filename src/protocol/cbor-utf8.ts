/**
 * RFC 8949 §3.1: a CBOR text string is UTF-8. cbor-x decodes one that is not with U+FFFD in place
 * of the bytes it cannot read, so a request would store text other than what was sent, silently.
 * This walks a request that cbor-x already decoded and names the first text string (or map key)
 * that is not valid UTF-8, so the daemon can refuse it.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Deeper than any request grit takes: what lies below is refused by the nesting checks or ignored. */
const MAX_DEPTH = 64;

const BREAK = 0xff;

class Invalid {
  constructor(readonly path: string) {}
}

class Walker {
  private pos = 0;

  constructor(private readonly b: Uint8Array) {}

  /** The path of the first invalid text string in the item at the cursor, or null. */
  item(path: string, depth: number): string | null {
    if (depth > MAX_DEPTH || this.pos >= this.b.length) return null;
    const initial = this.b[this.pos++];
    const major = initial >> 5;
    const n = this.argument(initial & 31);
    switch (major) {
      case 2:
      case 3:
        // cbor-x refuses indefinite-length strings before this runs.
        return n === null ? null : this.string(major, n, path);
      case 4:
        for (let i = 0; n === null ? this.b[this.pos] !== BREAK : i < n; i++) {
          const bad = this.item(`${path}[${i}]`, depth + 1);
          if (bad !== null) return bad;
        }
        if (n === null) this.pos++;
        return null;
      case 5:
        for (let i = 0; n === null ? this.b[this.pos] !== BREAK : i < n; i++) {
          const key = this.key(path, depth);
          if (key instanceof Invalid) return key.path;
          const bad = this.item(key === null ? `${path}[?]` : path ? `${path}.${key}` : key, depth + 1);
          if (bad !== null) return bad;
        }
        if (n === null) this.pos++;
        return null;
      case 6:
        return this.item(path, depth + 1);
      default:
        return null; // integers, simple values, floats: the argument was all of it
    }
  }

  /** A map key: its text, null when it is not text, Invalid when it is text that is not UTF-8. */
  private key(path: string, depth: number): string | null | Invalid {
    const start = this.pos;
    const initial = this.b[start];
    if (initial >> 5 !== 3 || (initial & 31) === 31) {
      const bad = this.item(path, depth + 1);
      return bad === null ? null : new Invalid(`a key of ${bad || 'the request'}`);
    }
    this.pos++;
    const n = this.argument(initial & 31) ?? 0;
    const bytes = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return new Invalid(path ? `a key of ${path}` : 'a key of the request');
    }
  }

  private string(major: number, n: number, path: string): string | null {
    const bytes = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (major === 2) return null;
    try {
      strictUtf8.decode(bytes);
      return null;
    } catch {
      return path;
    }
  }

  /** The head's argument (RFC 8949 §3), or null for an indefinite length. */
  private argument(info: number): number | null {
    if (info < 24) return info;
    if (info === 31) return null;
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8;
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + (this.b[this.pos + i] ?? 0);
    this.pos += width;
    return v;
  }
}

/**
 * The path (`command.IssueCreate.title`, `labels[1]`) of the first text string in a CBOR item
 * that is not valid UTF-8, or null when every one is. The item must be one cbor-x decoded.
 */
export function invalidUtf8Path(body: Uint8Array): string | null {
  return new Walker(body).item('', 0);
}
