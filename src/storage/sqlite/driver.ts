import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build that runs on this Node.
 *
 * better-sqlite3 12.x wraps statements in node::ObjectWrap, whose destructor aborts the process on Node 24.19+
 * when the garbage collector finalizes a statement outside a JavaScript context ("Assertion failed: (env) !=
 * nullptr"); 13.x moved to Node-API and fixed that, but segfaults on Node 20. Both majors are dependencies (13.x
 * under the alias `better-sqlite3-napi`, which ships prebuilt Node-API binaries) and the right one is loaded:
 * 12.x on Node 20, 13.x on Node 22 and later. Their JavaScript APIs are the same.
 */
const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

export const SQLITE_DRIVER_PACKAGE = nodeMajor >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';

export const Database = require(SQLITE_DRIVER_PACKAGE) as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;
