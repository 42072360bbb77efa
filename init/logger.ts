// Where pillion-init's library reports what it did, one line at a time: the CLI writes to stderr,
// the CNI plugin to its own log.
export type Logger = (line: string) => void;
