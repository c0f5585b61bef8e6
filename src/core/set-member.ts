/**
 * A label or an assignee as grit compares them: Unicode NFC. `café` typed with a precomposed é
 * (U+00E9) or with an e and a combining accent (U+0301) looks the same everywhere, so it is one
 * member: commands write NFC, and the projection folds a member stored in another form (by an
 * older grit, another writer) under its NFC (docs/decisions.md, "Labels and assignees are NFC").
 */
export const memberName = (text: string): string => text.normalize('NFC');
