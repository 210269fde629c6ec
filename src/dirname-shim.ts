/**
 * ssh2 reads `__dirname` when it loads; ncc's ESM output does not define it, and the bundle would die with
 * "ReferenceError: __dirname is not defined". This module is imported first so the globals exist.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const g = globalThis as { __filename?: string; __dirname?: string };
g.__filename ??= fileURLToPath(import.meta.url);
g.__dirname ??= dirname(g.__filename);
