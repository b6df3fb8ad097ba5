import type { MessageType } from '@touch-crm/contract';
import { type SQL, sql } from 'drizzle-orm';
import { ValidationError } from '../errors.ts';

const PERSON = ['firstName', 'lastName', 'fullName', 'level'] as const;
const PROMOTION = ['promotionName', 'promotionCode'] as const;

/** The {{variables}} each message type's template may use. */
export const TEMPLATE_VARIABLES: Record<MessageType, readonly TemplateVariable[]> = {
  WELCOME: PERSON,
  BIRTHDAY: PERSON,
  INACTIVITY: PERSON,
  CAMPAIGN: [...PERSON, ...PROMOTION],
  PROMOTION: [...PERSON, ...PROMOTION],
  MANUAL: PERSON,
  MANUAL_MARKETING: PERSON,
  OPT_OUT_CONFIRMATION: PERSON,
  OPT_IN_CONFIRMATION: PERSON,
  HELP: PERSON,
  // A text the customer sent: never rendered.
  REPLY: [],
};
export type TemplateVariable = (typeof PERSON)[number] | (typeof PROMOTION)[number];

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * Checks a template against the variables its type allows and returns it normalised
 * (`{{ firstName }}` becomes `{{firstName}}`). An unknown variable, or a stray `{{`/`}}`,
 * is a 400 naming `field`.
 */
export function validateTemplate(
  body: string,
  allowed: readonly string[],
  field = 'body',
  extraRule?: (variable: string) => string | undefined,
): string {
  const unknown = new Set<string>();
  const normalised = body.replace(PLACEHOLDER, (_, name: string) => {
    if (!allowed.includes(name)) unknown.add(name);
    return `{{${name}}}`;
  });
  if (unknown.size > 0)
    throw ValidationError.field(
      field,
      `unknown variable${unknown.size > 1 ? 's' : ''} ${[...unknown].map((v) => `{{${v}}}`).join(', ')}; allowed: ${allowed
        .map((v) => `{{${v}}}`)
        .join(', ')}`,
    );
  const leftover = normalised.replace(PLACEHOLDER, '');
  if (leftover.includes('{{') || leftover.includes('}}'))
    throw ValidationError.field(field, 'unbalanced {{ or }}: write variables as {{name}}');
  if (extraRule)
    for (const [, name] of normalised.matchAll(PLACEHOLDER)) {
      const problem = extraRule(name as string);
      if (problem) throw ValidationError.field(field, problem);
    }
  return normalised;
}

export const templateVariablesIn = (body: string): Set<string> =>
  new Set([...body.matchAll(PLACEHOLDER)].map((match) => match[1] as string));

/** SQL values for the variables, per recipient row. */
export interface TemplateColumns {
  firstName: SQL;
  lastName: SQL;
  level: SQL;
  promotionName?: SQL;
  promotionCode?: SQL;
}

const variableValue = (name: string, columns: TemplateColumns): SQL =>
  name === 'fullName'
    ? sql`(${columns.firstName} || ' ' || ${columns.lastName})`
    : (columns[name as keyof TemplateColumns] ?? sql`''`);

/**
 * A SQL expression rendering `template` per row, so a set-based INSERT … SELECT renders every
 * message in the database. One pass: the template is cut into text and placeholders here and
 * the pieces concatenated, so a value holding `{{…}}` (a customer's name) is never expanded.
 */
export function renderSql(template: string, columns: TemplateColumns): SQL {
  const pieces: SQL[] = [];
  let from = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > from) pieces.push(sql`${template.slice(from, match.index)}::text`);
    pieces.push(sql`coalesce(${variableValue(match[1] as string, columns)}, '')::text`);
    from = match.index + match[0].length;
  }
  if (from < template.length) pieces.push(sql`${template.slice(from)}::text`);
  return pieces.length === 0 ? sql`''::text` : sql`(${sql.join(pieces, sql` || `)})`;
}

/** A placeholder, a run of text without `{`, or a lone `{`: together they tile any template. */
const TEMPLATE_TOKEN = String.raw`\{\{[A-Za-z][A-Za-z0-9_]*\}\}|[^{]+|\{`;

/**
 * Like renderSql, for a template that is itself a SQL value (read in the same statement): the
 * database cuts it into tokens and each placeholder of `variables` is replaced by its value in
 * the same single pass, so values are never scanned for placeholders.
 */
export function renderStoredSql(template: SQL, variables: readonly TemplateVariable[], columns: TemplateColumns): SQL {
  const token = sql.raw('tokens.piece[1]');
  const cases = variables.map(
    (name) => sql`when ${`{{${name}}}`}::text then coalesce(${variableValue(name, columns)}, '')::text`,
  );
  const rendered = cases.length === 0 ? token : sql`case ${token} ${sql.join(cases, sql` `)} else ${token} end`;
  return sql`(select coalesce(string_agg(${rendered}, '' order by tokens.n), '')
                from regexp_matches(${template}, ${TEMPLATE_TOKEN}::text, 'g') with ordinality as tokens(piece, n))`;
}
