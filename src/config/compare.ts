// Compares two decoded messages the way protobuf sees them: an unset scalar equals its default, an
// empty list or map equals an absent one, but a message that is set (even empty, like
// `version_policy { all {} }`) differs from one that is not. Used by the round-trip check.

import { defaultOf, isPlainObject, type MessageDescriptor, type ValueType } from "./descriptor.ts";

export interface Difference {
  /** Field path, e.g. `input[0].dims[2]`. */
  path: string;
  left: unknown;
  right: unknown;
}

/** The first difference between `a` and `b`, in schema order; undefined when they are equal. */
export function firstDifference(schema: MessageDescriptor, a: object, b: object, path = ""): Difference | undefined {
  const av = a as Record<string, unknown>;
  const bv = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(av), ...Object.keys(bv)])) {
    if (!schema.fields.some((f) => f.name === k)) return { path: join(path, k), left: av[k], right: bv[k] };
  }
  for (const f of schema.fields) {
    const p = join(path, f.name);
    const t = f.type;
    const x = av[f.name];
    const y = bv[f.name];
    if (t.kind === "unsupported") continue;
    if (t.kind === "map") {
      const xm = isPlainObject(x) ? x : {};
      const ym = isPlainObject(y) ? y : {};
      for (const k of [...new Set([...Object.keys(xm), ...Object.keys(ym)])].sort()) {
        const kp = `${p}[${JSON.stringify(k)}]`;
        if (!(k in xm) || !(k in ym)) return { path: kp, left: xm[k], right: ym[k] };
        const d = valueDifference(t.value, xm[k], ym[k], kp, true);
        if (d) return d;
      }
    } else if (f.repeated) {
      const xl = Array.isArray(x) ? x : [];
      const yl = Array.isArray(y) ? y : [];
      if (xl.length !== yl.length) return { path: p, left: x, right: y };
      for (let i = 0; i < xl.length; i++) {
        const d = valueDifference(t, xl[i], yl[i], `${p}[${i}]`, true);
        if (d) return d;
      }
    } else {
      const d = valueDifference(t, x, y, p, false);
      if (d) return d;
    }
  }
  return undefined;
}

function valueDifference(t: ValueType, x: unknown, y: unknown, path: string, element: boolean): Difference | undefined {
  if (t.kind === "message") {
    // Elements of lists and maps are always present; a singular message field may be absent.
    if (!element && (x === undefined) !== (y === undefined)) return { path, left: x, right: y };
    if (x === undefined && y === undefined) return undefined;
    if (!isPlainObject(x) || !isPlainObject(y)) return { path, left: x, right: y };
    return firstDifference(t.message, x, y, path);
  }
  const d = defaultOf(t);
  const [u, v] = [x ?? d, y ?? d];
  // Floats keep -0 and NaN apart from 0 and each other's inequality; integers have no -0 on the wire.
  const same = t.kind === "scalar" && (t.scalar === "float" || t.scalar === "double") ? Object.is(u, v) : u === v;
  return same ? undefined : { path, left: x, right: y };
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
