// Runs Argo CD health scripts with a real Lua 5.1 interpreter (Debian's lua5.1; Argo CD embeds
// gopher-lua, which implements Lua 5.1), the way Argo CD does: `obj` is the object, the script is a
// chunk that returns a table with status and message, and only the base functions and the string,
// table and math libraries are in reach (no os, io or require).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function requireLua(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, 'lua5.1'), constants.X_OK);
      return join(dir, 'lua5.1');
    } catch {
      // not here
    }
  }
  throw new Error('lua5.1 is not on PATH, so the Argo CD health checks cannot be tested. Install it (Debian/Ubuntu: `apt-get install lua5.1`, as .ci/run does).');
}

/** A JSON value as a Lua 5.1 expression (what Argo CD hands a script: tables, strings, numbers, booleans; null is nil). */
export function luaValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(luaValue).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>).map(([key, item]) => `[${luaString(key)}] = ${luaValue(item)}`).join(', ')}}`;
}

function luaString(text: string): string {
  return `"${[...Buffer.from(text, 'utf8')].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte}`)).join('')}"`;
}

export interface Health {
  status: string;
  message: string;
}

/** The health a script gives `object`. */
export function runHealthScript(script: string, object: unknown): Health {
  const lua = requireLua();
  const driver = `
local source = ${luaString(script)}
local chunk, err = loadstring(source, "health.lua")
if chunk == nil then error(err) end
local env = { obj = ${luaValue(object)}, ipairs = ipairs, pairs = pairs, type = type, tostring = tostring, tonumber = tonumber, next = next, string = string, table = table, math = math, error = error }
setfenv(chunk, env)
local hs = chunk()
io.write(tostring(hs.status), "\\n", tostring(hs.message))
`;
  const result = spawnSync(lua, ['-'], { input: driver, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`lua5.1 failed: ${result.stderr}`);
  const [status, ...message] = result.stdout.split('\n');
  return { status: status!, message: message.join('\n') };
}
