/**
 * Generates the README's configuration reference from the zod schemas, so the documentation
 * cannot drift from what `check-config` accepts (STYLE rule 4).
 */
import { z, type ZodTypeAny } from 'zod';

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

function unwrap(t: ZodTypeAny): { inner: ZodTypeAny; def?: unknown; optional: boolean; description?: string } {
  let inner = t;
  let def: unknown;
  let optional = false;
  let description = t.description;
  for (;;) {
    description ??= inner.description;
    if (inner instanceof z.ZodDefault) {
      def = (inner._def as { defaultValue: () => unknown }).defaultValue();
      inner = inner._def.innerType as ZodTypeAny;
    } else if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
      optional = true;
      inner = inner._def.innerType as ZodTypeAny;
    } else if (inner instanceof z.ZodEffects) {
      inner = inner._def.schema as ZodTypeAny;
    } else break;
  }
  return { inner, def, optional, description: description ?? inner.description };
}

function typeName(t: ZodTypeAny): string {
  if (t instanceof z.ZodString) return 'string';
  if (t instanceof z.ZodNumber) return 'number';
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodEnum) return (t.options as string[]).map((o) => `\`${o}\``).join(' \\| ');
  if (t instanceof z.ZodLiteral) return `\`${String(t.value)}\``;
  if (t instanceof z.ZodArray) return `list of ${typeName(unwrap(t.element as ZodTypeAny).inner)}`;
  if (t instanceof z.ZodObject) return 'object';
  if (t instanceof z.ZodRecord) return 'map';
  if (t instanceof z.ZodUnion || t instanceof z.ZodDiscriminatedUnion) {
    return (t.options as ZodTypeAny[]).map((o) => typeName(unwrap(o).inner)).join(' or ');
  }
  return 'value';
}

function rows(schema: ZodTypeAny, prefix: string, out: Row[]): Row[] {
  const { inner } = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return out;
  for (const [key, child] of Object.entries(inner.shape as Record<string, ZodTypeAny>)) {
    const u = unwrap(child);
    const path = prefix ? `${prefix}.${key}` : key;
    const objectLike = u.inner instanceof z.ZodObject;
    const unionOptions: ZodTypeAny[] = u.inner instanceof z.ZodUnion ? (u.inner.options as ZodTypeAny[]) : [];
    const unionWithObject = unionOptions.some((o) => unwrap(o).inner instanceof z.ZodObject);
    const shownDefault = u.def === undefined || objectLike ? (u.optional || u.def !== undefined ? '' : '**required**') : `\`${JSON.stringify(u.def)}\``;
    out.push({ key: path, type: typeName(u.inner), default: shownDefault, description: (u.description ?? '').replace(/\|/g, '\\|') });
    if (objectLike) rows(u.inner, path, out);
    if (unionWithObject) {
      for (const o of unionOptions) if (unwrap(o).inner instanceof z.ZodObject) rows(o, path, out);
    }
  }
  return out;
}

export function referenceTable(schema: ZodTypeAny): string {
  const lines = ['| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  for (const r of rows(schema, '', [])) lines.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${r.description} |`);
  return lines.join('\n');
}
