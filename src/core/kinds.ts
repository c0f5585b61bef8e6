/**
 * The event kinds of SPEC §1, described once as data: the payload field list drives
 * encoding, decoding, validation and JSON for every kind.
 */

export type FieldType =
  | 'text'
  | 'text?'
  | 'texts'
  | 'id16'
  | 'hash32'
  | 'u64'
  | 'state'
  | 'dep_type'
  | 'symbols';

export interface KindSpec {
  tag: number;
  name: KindName;
  fields: ReadonlyArray<readonly [string, FieldType]>;
}

export const KIND_NAMES = [
  'IssueCreated',
  'IssueUpdated',
  'CommentAdded',
  'LabelAdded',
  'LabelRemoved',
  'StateChanged',
  'LinkAdded',
  'AssigneeAdded',
  'AssigneeRemoved',
  'AttachmentAdded',
  'DependencyAdded',
  'DependencyRemoved',
  'ContextUpdated',
  'ProjectContextUpdated',
] as const;
export type KindName = (typeof KIND_NAMES)[number];

const DEP: KindSpec['fields'] = [
  ['target', 'id16'],
  ['dep_type', 'dep_type'],
];

const FIELDS: Record<KindName, KindSpec['fields']> = {
  IssueCreated: [
    ['title', 'text'],
    ['body', 'text'],
    ['labels', 'texts'],
  ],
  IssueUpdated: [
    ['title', 'text?'],
    ['body', 'text?'],
  ],
  CommentAdded: [['body', 'text']],
  LabelAdded: [['label', 'text']],
  LabelRemoved: [['label', 'text']],
  StateChanged: [['state', 'state']],
  LinkAdded: [
    ['url', 'text'],
    ['note', 'text?'],
  ],
  AssigneeAdded: [['user', 'text']],
  AssigneeRemoved: [['user', 'text']],
  AttachmentAdded: [
    ['name', 'text'],
    ['sha256', 'hash32'],
    ['mime', 'text'],
  ],
  DependencyAdded: DEP,
  DependencyRemoved: DEP,
  ContextUpdated: [
    ['path', 'text'],
    ['language', 'text'],
    ['symbols', 'symbols'],
    ['summary', 'text'],
    ['content_hash', 'hash32'],
  ],
  ProjectContextUpdated: [
    ['key', 'text'],
    ['value', 'text'],
  ],
};

export const KINDS: readonly KindSpec[] = KIND_NAMES.map((name, i) => ({ tag: i + 1, name, fields: FIELDS[name] }));
export const KIND_BY_NAME: Record<KindName, KindSpec> = Object.fromEntries(KINDS.map((k) => [k.name, k])) as Record<
  KindName,
  KindSpec
>;
export const KIND_BY_TAG: ReadonlyMap<number, KindSpec> = new Map(KINDS.map((k) => [k.tag, k]));

export type IssueState = 'open' | 'closed';
export type DepType = 'blocks' | 'depends_on' | 'related_to';
export const DEP_TYPES: readonly DepType[] = ['blocks', 'depends_on', 'related_to'];

export interface ContextSymbol {
  name: string;
  kind: string;
  line_start: number;
  line_end: number;
}

/** A kind with its payload as named fields; ids and hashes stay as bytes. */
export type EventKind =
  | { type: 'IssueCreated'; title: string; body: string; labels: string[] }
  | { type: 'IssueUpdated'; title: string | null; body: string | null }
  | { type: 'CommentAdded'; body: string }
  | { type: 'LabelAdded'; label: string }
  | { type: 'LabelRemoved'; label: string }
  | { type: 'StateChanged'; state: IssueState }
  | { type: 'LinkAdded'; url: string; note: string | null }
  | { type: 'AssigneeAdded'; user: string }
  | { type: 'AssigneeRemoved'; user: string }
  | { type: 'AttachmentAdded'; name: string; sha256: Uint8Array; mime: string }
  | { type: 'DependencyAdded'; target: Uint8Array; dep_type: DepType }
  | { type: 'DependencyRemoved'; target: Uint8Array; dep_type: DepType }
  | {
      type: 'ContextUpdated';
      path: string;
      language: string;
      symbols: ContextSymbol[];
      summary: string;
      content_hash: Uint8Array;
    }
  | { type: 'ProjectContextUpdated'; key: string; value: string };
