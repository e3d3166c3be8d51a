/** One versioned schema step of a storage adapter; each adapter keeps its own append-only list. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
