/**
 * JSON printed by the host (or by the app's image there), parsed for a schema check. A `__proto__` key
 * is refused, not passed on: valibot's records would drop it without a word, and a plain object would
 * take it as its prototype.
 */
export function parseHostJson(text: string): { ok: true; value: unknown } | { ok: false; proto: boolean } {
  try {
    return {
      ok: true,
      value: JSON.parse(text, (key, value: unknown) => {
        if (key === '__proto__') throw new RangeError('a __proto__ key');
        return value;
      }),
    };
  } catch (err) {
    return { ok: false, proto: err instanceof RangeError };
  }
}
