import {
  type CreateProductInput,
  type DeleteResult,
  type ListProductsInput,
  type Product,
  REASON,
  type SyncPage,
  type UpdateProductInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, ilike, or, type SQL } from 'drizzle-orm';
import { type Actor, actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, isUniqueViolation, NotFoundError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { sortBy, syncPageOf } from '../lib/page.ts';
import { containing, theRow } from '../lib/sql.ts';
import { deleteOrDeactivate } from './delete-or-deactivate.ts';

const { products } = schema;
const FIELDS = ['sku', 'name', 'description', 'unitPrice', 'isActive'] as const;

function toProduct(row: typeof products.$inferSelect): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    unitPrice: row.unitPrice,
    isActive: row.isActive,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function skuTaken(error: unknown): never {
  if (isUniqueViolation(error, 'products_sku_unique'))
    throw new ConflictError(REASON.SKU_TAKEN, 'A product with this SKU already exists');
  throw error;
}

const productEvent = (type: string, actor: Actor, product: Product, changes?: ReturnType<typeof diffFields>) => ({
  type,
  entityType: 'product',
  entityId: product.id,
  actor,
  data: product,
  changes,
});

export async function createProduct(deps: ServiceDeps, caller: Caller, input: CreateProductInput): Promise<Product> {
  const actor = actorOf(caller);
  return deps.db
    .transaction(async (tx) => {
      const row = theRow(await tx.insert(products).values(input).returning());
      const product = toProduct(row);
      await recordEvent(
        { tx, jobs: deps.jobs },
        productEvent('product.created', actor, product, diffFields({}, product, FIELDS)),
      );
      return product;
    })
    .catch(skuTaken);
}

async function findProduct(executor: Executor, id: string) {
  const [row] = await executor.select().from(products).where(eq(products.id, id));
  if (!row) throw new NotFoundError('Product');
  return row;
}

export const getProduct = async (deps: ServiceDeps, id: string) => toProduct(await findProduct(deps.db, id));

const sortColumns = {
  name: products.name,
  sku: products.sku,
  unitPrice: products.unitPrice,
  createdAt: products.createdAt,
};

export async function listProducts(deps: ServiceDeps, input: ListProductsInput): Promise<SyncPage<Product>> {
  const conditions: (SQL | undefined)[] = [];
  if (input.search) {
    const pattern = containing(input.search);
    conditions.push(or(ilike(products.sku, pattern), ilike(products.name, pattern)));
  }
  if (input.isActive !== undefined) conditions.push(eq(products.isActive, input.isActive));
  return syncPageOf(
    deps,
    input,
    {
      rows: deps.db.select().from(products).$dynamic(),
      table: products,
      keyset: { updatedAt: products.updatedAt, id: products.id },
      where: and(...conditions),
      order: [sortBy(sortColumns, input.sort), asc(products.id)],
    },
    (rows) => rows.map(toProduct),
  );
}

export async function updateProduct(deps: ServiceDeps, caller: Caller, input: UpdateProductInput): Promise<Product> {
  const actor = actorOf(caller);
  const { id, ...fields } = input;
  return deps.db
    .transaction(async (tx) => {
      const [before] = await tx.select().from(products).where(eq(products.id, id)).for('no key update');
      if (!before) throw new NotFoundError('Product');
      const values = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      if (Object.keys(values).length === 0) return toProduct(before);
      const after = theRow(await tx.update(products).set(values).where(eq(products.id, id)).returning());
      const product = toProduct(after);
      const changes = diffFields(before, product, FIELDS);
      if (Object.keys(changes).length > 0)
        await recordEvent({ tx, jobs: deps.jobs }, productEvent('product.updated', actor, product, changes));
      return product;
    })
    .catch(skuTaken);
}

/** Removes a product no order references; one that orders reference is deactivated instead. */
export async function deleteProduct(deps: ServiceDeps, caller: Caller, { id }: { id: string }): Promise<DeleteResult> {
  const actor = actorOf(caller);
  return deps.db.transaction(async (tx) => {
    const product = toProduct(await findProduct(tx, id));
    const result = await deleteOrDeactivate(
      tx,
      id,
      (savepoint) => savepoint.delete(products).where(eq(products.id, id)),
      () => tx.update(products).set({ isActive: false }).where(eq(products.id, id)),
    );
    await recordEvent(
      { tx, jobs: deps.jobs },
      productEvent(result.outcome === 'DELETED' ? 'product.deleted' : 'product.deactivated', actor, product),
    );
    return result;
  });
}
