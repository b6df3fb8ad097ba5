import {
  campaignPage,
  campaignPreviewSchema,
  campaignSchema,
  createCampaignInput,
  idSchema,
  listCampaignsInput,
  updateCampaignInput,
} from '@touch-crm/contract';
import {
  cancelCampaign,
  createCampaign,
  executeCampaign,
  getCampaign,
  listCampaigns,
  previewCampaign,
  updateCampaign,
} from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const campaignsRouter = router({
  create: permissionProcedure('campaigns:create')
    .meta(
      rest('POST', '/campaigns', 'campaigns', 'Create an SMS campaign (DRAFT, or SCHEDULED with scheduledAt)', {
        successStatus: 201,
      }),
    )
    .input(createCampaignInput)
    .output(campaignSchema)
    .mutation(({ ctx, input }) => createCampaign(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('campaigns:read')
    .meta(rest('GET', '/campaigns', 'campaigns', 'List campaigns with their message counts (status; paginated)'))
    .input(listCampaignsInput)
    .output(campaignPage)
    .query(({ ctx, input }) => listCampaigns(ctx.deps, input)),

  get: permissionProcedure('campaigns:read')
    .meta(
      rest(
        'GET',
        '/campaigns/{id}',
        'campaigns',
        'Get a campaign with counts: audience, queued, sent, failed, skipped',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignSchema)
    .query(({ ctx, input }) => getCampaign(ctx.deps, input.id)),

  update: permissionProcedure('campaigns:update')
    .meta(rest('PUT', '/campaigns/{id}', 'campaigns', 'Edit a campaign while it is DRAFT or SCHEDULED (409 after)'))
    .input(updateCampaignInput)
    .output(campaignSchema)
    .mutation(({ ctx, input }) => updateCampaign(ctx.deps, ctx.caller, input)),

  preview: permissionProcedure('campaigns:read')
    .meta(
      rest(
        'GET',
        '/campaigns/{id}/preview',
        'campaigns',
        'Audience size now and a sample of rendered messages; sends nothing',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignPreviewSchema)
    .query(({ ctx, input }) => previewCampaign(ctx.deps, input.id)),

  cancel: permissionProcedure('campaigns:update')
    .meta(
      rest('POST', '/campaigns/{id}/cancel', 'campaigns', 'Cancel a campaign; its messages not yet sent are cancelled'),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignSchema)
    .mutation(({ ctx, input }) => cancelCampaign(ctx.deps, ctx.caller, input)),

  execute: permissionProcedure('campaigns:execute')
    .meta(
      rest(
        'POST',
        '/campaigns/{id}/execute',
        'campaigns',
        'Queue one SMS per audience member and assign the promotion, in one transaction. Idempotent: a second call sends nothing',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignSchema)
    .mutation(async ({ ctx, input }) => (await executeCampaign(ctx.deps, ctx.caller, input)).campaign),
});
