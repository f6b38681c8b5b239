// Message descriptors: the shape of a protobuf message as data (field names, numbers, types), so one
// writer, one parser and one JSON printer serve every message, and the field table is written once.
// Hand-written rather than loaded from a .proto: the subset is small and the literal field names let
// the compiler check them against the TypeScript interfaces in model-config.ts.

export type ScalarType = "string" | "bool" | "int32" | "uint32" | "int64" | "uint64" | "float" | "double";

export interface EnumDescriptor {
  /** Fully qualified enum name, for messages (e.g. `inference.DataType`). */
  name: string;
  /** Identifier → number, in declaration order; the first is the proto3 default. */
  values: readonly (readonly [string, number])[];
}

/** What a map's value or a plain field holds. */
export type ValueType =
  | { kind: "scalar"; scalar: ScalarType }
  | { kind: "enum"; enumType: EnumDescriptor }
  | { kind: "message"; message: MessageDescriptor };

export type FieldType =
  | ValueType
  /** `map<string, V>`; the key is always a string in the subset we model. */
  | { kind: "map"; value: ValueType }
  /**
   * A real Triton field that triton-deploy does not model. The parser refuses it with a clear
   * message instead of "unknown field"; the JSON printer emits its default where Triton would.
   */
  | { kind: "unsupported"; jsonDefault?: "[]" | "{}" };

export interface FieldDescriptor<N extends string = string> {
  name: N;
  /** Field number in Triton's model_config.proto. */
  number: number;
  type: FieldType;
  repeated: boolean;
  /** Name of the oneof this field belongs to; at most one member of a oneof may be set. */
  oneof?: string;
}

export interface MessageDescriptor<F extends readonly FieldDescriptor[] = readonly FieldDescriptor[]> {
  /** Fully qualified message name, e.g. `inference.ModelInput`. */
  name: string;
  /** In declaration order of model_config.proto, which is the order the writer and JSON printer use. */
  fields: F;
}

export function message<const F extends readonly FieldDescriptor[]>(name: string, fields: F): MessageDescriptor<F> {
  return { name, fields };
}

export function enumType(name: string, values: readonly (readonly [string, number])[]): EnumDescriptor {
  return { name, values };
}

interface FieldOptions {
  repeated?: boolean;
  oneof?: string;
}

function field<const N extends string, const T extends FieldType>(name: N, number: number, type: T, opts: FieldOptions = {}) {
  const f: FieldDescriptor<N> & { type: T } = { name, number, type, repeated: opts.repeated ?? false, ...(opts.oneof ? { oneof: opts.oneof } : {}) };
  return f;
}

export function scalarField<const N extends string>(name: N, number: number, scalar: ScalarType, opts?: FieldOptions) {
  return field(name, number, { kind: "scalar", scalar } as const, opts);
}

export function enumField<const N extends string>(name: N, number: number, e: EnumDescriptor, opts?: FieldOptions) {
  return field(name, number, { kind: "enum", enumType: e } as const, opts);
}

export function messageField<const N extends string, M extends MessageDescriptor>(name: N, number: number, m: M, opts?: FieldOptions) {
  return field(name, number, { kind: "message", message: m } as const, opts);
}

export function mapField<const N extends string, V extends ValueType>(name: N, number: number, value: V) {
  return field(name, number, { kind: "map", value } as const);
}

export function unsupportedField<const N extends string>(name: N, number: number, jsonDefault?: "[]" | "{}") {
  const type: FieldType = { kind: "unsupported", ...(jsonDefault ? { jsonDefault } : {}) };
  return field(name, number, type as { kind: "unsupported"; jsonDefault?: "[]" | "{}" }, { repeated: jsonDefault === "[]" });
}

/** The names of the fields a message models (unsupported ones excluded), as a string-literal union. */
export type ModeledFieldName<M> = M extends MessageDescriptor<infer F>
  ? Extract<F[number], { type: { kind: "scalar" | "enum" | "message" | "map" } }>["name"]
  : never;

export function findField(m: MessageDescriptor, name: string): FieldDescriptor | undefined {
  return m.fields.find((f) => f.name === name);
}

export function enumNumber(e: EnumDescriptor, ident: string): number | undefined {
  return e.values.find(([n]) => n === ident)?.[1];
}

export function enumIdent(e: EnumDescriptor, n: number): string | undefined {
  return e.values.find(([, v]) => v === n)?.[0];
}

/** A decoded message: field name → value. Enum values are identifier strings, maps plain objects. */
export interface MessageValue {
  [field: string]: FieldValue | undefined;
}
export type ScalarValue = string | number | boolean;
export type FieldValue = ScalarValue | MessageValue | FieldValue[] | { [key: string]: FieldValue };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Sets an own enumerable property even for keys such as `__proto__` that come from user input. */
export function defineKey<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The proto3 default of a scalar or enum field, i.e. what an unset field reads as. */
export function defaultOf(t: ValueType): ScalarValue | undefined {
  switch (t.kind) {
    case "scalar":
      return t.scalar === "string" ? "" : t.scalar === "bool" ? false : 0;
    case "enum":
      return t.enumType.values[0]?.[0];
    case "message":
      return undefined;
  }
}
