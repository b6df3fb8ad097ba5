import {
  createProductInput,
  deleteResultSchema,
  idSchema,
  listProductsInput,
  productPage,
  productSchema,
  updateProductInput,
} from '@touch-crm/contract';
import { createProduct, deleteProduct, getProduct, listProducts, updateProduct } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const productsRouter = router({
  create: permissionProcedure('products:create')
    .meta(rest('POST', '/products', 'products', 'Add a product to the catalogue', { successStatus: 201 }))
    .input(createProductInput)
    .output(productSchema)
    .mutation(({ ctx, input }) => createProduct(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('products:read')
    .meta(rest('GET', '/products', 'products', 'List products (search, active; paginated)'))
    .input(listProductsInput)
    .output(productPage)
    .query(({ ctx, input }) => listProducts(ctx.deps, input)),

  get: permissionProcedure('products:read')
    .meta(rest('GET', '/products/{id}', 'products', 'Get a product'))
    .input(z.object({ id: idSchema }))
    .output(productSchema)
    .query(({ ctx, input }) => getProduct(ctx.deps, input.id)),

  update: permissionProcedure('products:update')
    .meta(rest('PUT', '/products/{id}', 'products', 'Update the given fields; orders keep the price they were sold at'))
    .input(updateProductInput)
    .output(productSchema)
    .mutation(({ ctx, input }) => updateProduct(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('products:delete')
    .meta(rest('DELETE', '/products/{id}', 'products', 'Delete a product, or deactivate it when orders reference it'))
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deleteProduct(ctx.deps, ctx.caller, input)),
});
