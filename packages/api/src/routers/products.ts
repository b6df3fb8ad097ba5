import {
  createProductInput,
  deleteResultSchema,
  idSchema,
  listProductsInput,
  productPage,
  productSchema,
  REASON,
  updateProductInput,
} from '@touch-crm/contract';
import { createProduct, deleteProduct, getProduct, listProducts, updateProduct } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const productsRouter = router({
  create: permissionProcedure('products:create')
    .meta(
      rest('POST', '/products', 'products', 'Add a product to the catalogue', {
        description:
          'Adds a product to the catalogue with its SKU (unique, 409 SKU_TAKEN) and price in minor units. Needs `products:create`.',
        successStatus: 201,
        errors: { 409: [REASON.SKU_TAKEN] },
      }),
    )
    .input(createProductInput)
    .output(productSchema)
    .mutation(({ ctx, input }) => createProduct(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('products:read')
    .meta(
      rest('GET', '/products', 'products', 'List products (search, active; paginated)', {
        description:
          'The catalogue, filtered by `search` and active flag, sorted, with page or cursor pagination and `updatedAfter` for sync. Needs `products:read` (every role).',
      }),
    )
    .input(listProductsInput)
    .output(productPage)
    .query(({ ctx, input }) => listProducts(ctx.deps, input)),

  get: permissionProcedure('products:read')
    .meta(
      rest('GET', '/products/{id}', 'products', 'Get a product', {
        description:
          'One product with its SKU, price in minor units and active flag; an inactive product cannot be ordered. Needs `products:read`.',
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(productSchema)
    .query(({ ctx, input }) => getProduct(ctx.deps, input.id)),

  update: permissionProcedure('products:update')
    .meta(
      rest('PUT', '/products/{id}', 'products', 'Update the given fields; orders keep the price they were sold at', {
        description:
          'Changes the given fields of a product. Orders keep the price they were sold at; a new SKU must be unique (409 SKU_TAKEN). Needs `products:update`.',
        errors: { 409: [REASON.SKU_TAKEN] },
      }),
    )
    .input(updateProductInput)
    .output(productSchema)
    .mutation(({ ctx, input }) => updateProduct(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('products:delete')
    .meta(
      rest('DELETE', '/products/{id}', 'products', 'Delete a product, or deactivate it when orders reference it', {
        description:
          'Deletes a product, or only deactivates it when orders reference it (the answer says which), so order history stays whole. Needs `products:delete`.',
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deleteProduct(ctx.deps, ctx.caller, input)),
});
