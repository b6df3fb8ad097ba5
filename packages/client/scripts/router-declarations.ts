import ts from 'typescript5';

/**
 * Rebuilds the server's router type as self-contained declarations. `typeof appRouter`
 * names the server's context (and through it drizzle, postgres, …) in every router's
 * config, and its inputs and outputs are zod types; a declaration bundler would drag all
 * of that along. Instead we ask the checker for each procedure's resolved input and output
 * types and print them structurally, so the result only mentions `@trpc/server`.
 */

export interface RouterDeclarations {
  /** The module text: `export type AppRouter = TRPCBuiltRouter<…>`. */
  text: string;
  /** Every procedure's path, e.g. `auth.login`. */
  procedures: string[];
}

const procedureKinds = {
  query: 'TRPCQueryProcedure',
  mutation: 'TRPCMutationProcedure',
  subscription: 'TRPCSubscriptionProcedure',
} as const;

const keywords: [ts.TypeFlags, string][] = [
  [ts.TypeFlags.Unknown, 'unknown'],
  [ts.TypeFlags.String, 'string'],
  [ts.TypeFlags.Number, 'number'],
  [ts.TypeFlags.Boolean, 'boolean'],
  [ts.TypeFlags.BigInt, 'bigint'],
  [ts.TypeFlags.ESSymbol, 'symbol'],
  [ts.TypeFlags.Null, 'null'],
  [ts.TypeFlags.Undefined, 'undefined'],
  [ts.TypeFlags.Void, 'void'],
  [ts.TypeFlags.Never, 'never'],
  [ts.TypeFlags.NonPrimitive, 'object'],
];

const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

/** Unions and intersections inside `&` or before `[]` need parentheses; `boolean` is a union too. */
const operand = (type: ts.Type, text: string) =>
  type.isUnionOrIntersection() && !(type.flags & ts.TypeFlags.Boolean) ? `(${text})` : text;

export function declareRouter(checker: ts.TypeChecker, router: ts.Type): RouterDeclarations {
  const member = (type: ts.Type, name: string, where: string) => {
    const symbol = checker.getPropertyOfType(type, name);
    if (!symbol) throw new Error(`${where}: no property ${name}`);
    return checker.getTypeOfSymbol(symbol);
  };

  const print = (type: ts.Type, where: string, path: ReadonlySet<ts.Type> = new Set()): string => {
    const flags = type.flags;
    // `any` would silently switch inference off for consumers; it means the server's types broke.
    if (flags & ts.TypeFlags.Any) throw new Error(`${where} is \`any\``);
    if (flags & (ts.TypeFlags.Enum | ts.TypeFlags.EnumLiteral)) throw new Error(`${where}: enums are not supported`);
    for (const [flag, keyword] of keywords) if (flags & flag) return keyword;
    if (type.isStringLiteral()) return JSON.stringify(type.value);
    if (type.isNumberLiteral()) return String(type.value);
    if (flags & ts.TypeFlags.BooleanLiteral) return checker.typeToString(type);
    if (type.isUnion()) {
      const members = type.types.map((inner) => print(inner, where, path));
      // TypeScript spreads `boolean | null` into `false | true | null`; fold it back.
      const booleans = members.includes('true') && members.includes('false');
      const folded = booleans ? ['boolean', ...members.filter((text) => text !== 'true' && text !== 'false')] : members;
      // `string | null` reads better than the checker's order.
      const nullish = (text: string) => (text === 'null' || text === 'undefined' ? 1 : 0);
      return folded.sort((a, b) => nullish(a) - nullish(b)).join(' | ');
    }
    if (type.isIntersection()) return type.types.map((inner) => operand(inner, print(inner, where, path))).join(' & ');
    if (!(flags & ts.TypeFlags.Object)) throw new Error(`${where}: unsupported type ${checker.typeToString(type)}`);

    if (path.has(type)) throw new Error(`${where}: recursive types are not supported`);
    const within = new Set([...path, type]);
    if (checker.isArrayType(type)) {
      const [element] = checker.getTypeArguments(type as ts.TypeReference);
      if (!element) throw new Error(`${where}: array without an element type`);
      const readonly = (type as ts.TypeReference).target.symbol.name === 'ReadonlyArray' ? 'readonly ' : '';
      return `${readonly}${operand(element, print(element, `${where}[]`, within))}[]`;
    }
    // Functions, and with them class instances such as Date, are not JSON data.
    if (checker.isTupleType(type) || type.getCallSignatures().length || type.getConstructSignatures().length)
      throw new Error(`${where}: unsupported type ${checker.typeToString(type)} (not plain JSON data)`);

    const properties = checker.getPropertiesOfType(type);
    const indexes = checker.getIndexInfosOfType(type);
    // `Record<string, T>` (zod's z.record) has `keyof` string; `{ [key: string]: T }` would add number.
    const [index] = indexes;
    const mapped = (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Mapped;
    if (mapped && index && indexes.length === 1 && !properties.length)
      return `Record<${print(index.keyType, where)}, ${print(index.type, `${where}[key]`, within)}>`;
    const members = properties.map((property) => {
      const name = property.getName();
      if (name.startsWith('__@')) throw new Error(`${where}: symbol keys are not supported`);
      const optional = property.flags & ts.SymbolFlags.Optional ? '?' : '';
      return `${key(name)}${optional}: ${print(checker.getTypeOfSymbol(property), `${where}.${name}`, within)};`;
    });
    for (const { keyType, type: value } of indexes)
      members.push(`[key: ${print(keyType, where)}]: ${print(value, `${where}[key]`, within)};`);
    return `{ ${members.join(' ')} }`;
  };

  const procedures: string[] = [];
  const record = (type: ts.Type, prefix: string): string => {
    const entries = checker.getPropertiesOfType(type).map((property) => {
      const name = property.getName();
      const where = prefix ? `${prefix}.${name}` : name;
      const value = checker.getTypeOfSymbol(property);
      const def = checker.getPropertyOfType(value, '_def');
      if (!def) return `${key(name)}: ${record(value, where)};`;
      const defType = checker.getTypeOfSymbol(def);
      const kind = member(defType, 'type', where);
      if (!kind.isStringLiteral() || !(kind.value in procedureKinds)) throw new Error(`${where}: not a procedure`);
      const types = member(defType, '$types', where);
      const input = print(member(types, 'input', where), `${where} input`);
      const output = print(member(types, 'output', where), `${where} output`);
      procedures.push(where);
      const procedure = procedureKinds[kind.value as keyof typeof procedureKinds];
      return `${key(name)}: ${procedure}<{ input: ${input}; output: ${output}; meta: object }>;`;
    });
    return `{ ${entries.join(' ')} }`;
  };

  const def = member(router, '_def', 'AppRouter');
  const rootTypes = member(member(def, '_config', 'AppRouter'), '$types', 'AppRouter');
  const errorShape = print(member(rootTypes, 'errorShape', 'AppRouter'), 'error shape');
  const transformer = print(member(rootTypes, 'transformer', 'AppRouter'), 'transformer');
  const procedureTypes = record(member(def, 'record', 'AppRouter'), '');

  const used = Object.values(procedureKinds).filter((name) => procedureTypes.includes(`${name}<`));
  const text = [
    '// Generated by packages/client/scripts/build.ts from the server router; do not edit.',
    `import type { TRPCBuiltRouter, ${used.join(', ')} } from '@trpc/server';`,
    "/** The error shape the server's router declares; `isTouchError` narrows to what it sends. */",
    `type ErrorShape = ${errorShape};`,
    `type Root = { ctx: object; meta: object; errorShape: ErrorShape; transformer: ${transformer} };`,
    '/** The Touch CRM API: every procedure with the input it takes and the output it returns. */',
    `export type AppRouter = TRPCBuiltRouter<Root, ${procedureTypes}>;`,
  ].join('\n');
  return { text: format(text), procedures };
}

/** One member per line, so the declarations read well in an editor's go-to-definition. */
function format(text: string): string {
  const file = ts.createSourceFile('router.d.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printFile(file);
}
