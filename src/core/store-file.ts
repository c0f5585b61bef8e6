/**
 * A cheap sanity check of an LMDB data file before it is mapped. LMDB trusts its file: a page
 * number past the end of a truncated file is read through the memory map and the process dies by
 * SIGBUS, which no try/catch can turn into an error. So before opening the store we read the meta
 * pages (a few hundred bytes with pread, never mapped) and check that they describe a file at
 * least as long as this one, and that the two core B-tree roots are real pages. This catches
 * truncation (a partial copy, a full disk under a copy tool) for the price of four small reads;
 * deeper corruption is `grit doctor`'s job, which reads the store in a child process.
 *
 * Layout (liblmdb mdb.c, 64-bit builds, as lmdb-js 3 writes it): a 24-byte page header
 * `{pgno u64, txnid u64, pad u16, flags u16, lower u16, upper u16}`, then on meta pages
 * `MDB_meta {magic u32, version u32, address u64, mapsize u64, dbs[2] (48 bytes each: pad/psize
 * u32, flags u16, depth u16, branch, leaf, overflow, entries, root: u64), last_pg u64, txnid u64}`.
 * Meta pages sit at offset 0 and one page in; with lmdb-js's overlapping sync a third one sits at
 * half a page. LMDB uses the one with the highest txnid.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { GritError } from './errors.js';
import { mvCommand } from './shell-word.js';

/** The actor's LMDB data file. */
export const storeFile = (actorDir: string): string => join(actorDir, 'store.mdb');

/** The LMDB files of the store whose data file is `path`: it and its lock file, both written even to read. */
export const storeFiles = (path: string): string[] => [path, `${path}-lock`];

/** What a file of the store is when it is not a file, or null (a file, a link to one, or nothing yet). */
function notAFile(path: string): string | null {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return null; // missing: LMDB makes it; unreadable: LMDB's open reports it
  }
  if (st.isFile()) return null;
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'a device';
}

/**
 * The error for something other than a file where the store's data or lock file goes (a `mkdir`
 * typo, a copy tool, a named pipe), or null. LMDB given a directory as its lock file kills the
 * process (SIGSEGV), the damage check below fails on a directory with a bare EISDIR and waits
 * forever to open a pipe, and a rebuild cannot delete a directory. What is there is not grit's,
 * so it is never deleted: exit 5, and a person moves it aside.
 */
export function storeFileInTheWay(storePath: string): GritError | null {
  for (const path of storeFiles(storePath)) {
    const kind = notAFile(path);
    if (!kind) continue;
    const data = path === storePath;
    const role = data ? 'the store (a cache of the WAL)' : "the store's lock file";
    const next = data ? 'builds the store anew from the WAL' : 'makes a new lock file';
    return new GritError('io_error', `${path} is ${kind}, not a file: grit keeps ${role} there`, {
      environment: true,
      details: { path, not_a_file: kind },
      suggestion: `move it aside (\`${mvCommand(path, `${path}.moved`)}\`): the next command ${next}`,
    });
  }
  return null;
}

const PAGE_HEADER = 24;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_LEAF2 = 0x20;
const P_META = 0x08;
const MDB_MAGIC = 0xbeefc0de;
const P_INVALID = 0xffffffffffffffffn;
/** Bytes of a meta page we read: header plus MDB_meta up to and including mm_txnid. */
const META_BYTES = PAGE_HEADER + 136;

interface Meta {
  psize: number;
  roots: bigint[];
  lastPage: bigint;
  txnid: bigint;
}

function parseMeta(b: Buffer): Meta | null {
  if (b.length < META_BYTES || b.readUInt32LE(PAGE_HEADER) !== MDB_MAGIC) return null;
  const m = PAGE_HEADER;
  return {
    psize: b.readUInt32LE(m + 24),
    roots: [b.readBigUInt64LE(m + 64), b.readBigUInt64LE(m + 112)],
    lastPage: b.readBigUInt64LE(m + 120),
    txnid: b.readBigUInt64LE(m + 128),
  };
}

function pread(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Why the LMDB file at `path` cannot be mapped safely, or null when it looks sound (or does not
 * exist, or is empty: LMDB initializes those).
 */
export function storeFileDamage(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null; // missing (created on open) or unreadable (LMDB's open reports that as an error)
  }
  try {
    const first = pread(fd, 0, META_BYTES);
    if (first.length === 0) return null;
    const meta0 = parseMeta(first);
    if (!meta0 || (first.readUInt16LE(18) & P_META) === 0) return `${fstatSync(fd).size} bytes with no LMDB meta page at the start`;
    const psize = meta0.psize;
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) return `meta page gives an impossible page size ${psize}`;
    // LMDB's own choice (mdb_env_read_header): the highest txnid among the meta pages it reads.
    let newest = meta0;
    for (const offset of [psize / 2, psize]) {
      const other = parseMeta(pread(fd, offset, META_BYTES));
      if (other && other.txnid > newest.txnid) newest = other;
    }
    // The size is taken after the metas: a writer may extend the file and commit a newer meta
    // while we read, and a file only grows, so this order never mistakes a live store for a short one.
    const size = fstatSync(fd).size;
    if (size < 2 * psize) return `${size} bytes, shorter than its two meta pages (${2 * psize})`;
    const needed = (newest.lastPage + 1n) * BigInt(psize);
    if (needed > BigInt(size)) return `${size} bytes, but its newest meta page (txn ${newest.txnid}) uses ${needed}: the file was truncated`;
    for (const root of newest.roots) {
      if (root === P_INVALID) continue; // an empty tree
      if (root > newest.lastPage) return `a B-tree root (page ${root}) lies past the last page ${newest.lastPage}`;
      const head = pread(fd, Number(root) * psize, PAGE_HEADER);
      const flags = head.length === PAGE_HEADER ? head.readUInt16LE(18) : 0;
      if (head.length < PAGE_HEADER || head.readBigUInt64LE(0) !== root || (flags & (P_BRANCH | P_LEAF | P_LEAF2)) === 0) {
        return `page ${root}, a B-tree root, is not a B-tree page`;
      }
    }
    return null;
  } finally {
    closeSync(fd);
  }
}
