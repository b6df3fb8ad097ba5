import {
  campaignPage,
  campaignPreviewSchema,
  campaignSchema,
  createCampaignInput,
  idSchema,
  listCampaignsInput,
  REASON,
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
        description:
          'Creates an SMS campaign: an `audience` (customers by level, status, RFM segment …), the message (default: the CAMPAIGN template) and optionally a promotion every recipient gets. DRAFT until executed, or SCHEDULED when `scheduledAt` is given (the worker executes it then). Needs `campaigns:create`.',
        successStatus: 201,
      }),
    )
    .input(createCampaignInput)
    .output(campaignSchema)
    .mutation(({ ctx, input }) => createCampaign(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('campaigns:read')
    .meta(
      rest('GET', '/campaigns', 'campaigns', 'List campaigns with their message counts (status; paginated)', {
        description:
          'Campaigns with their message counts, filtered by status, newest first, paginated. Needs `campaigns:read`.',
      }),
    )
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
        {
          description:
            'One campaign with its counts: audience, queued, sent, delivered, undelivered, failed, skipped. Needs `campaigns:read`.',
        },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignSchema)
    .query(({ ctx, input }) => getCampaign(ctx.deps, input.id)),

  update: permissionProcedure('campaigns:update')
    .meta(
      rest('PUT', '/campaigns/{id}', 'campaigns', 'Edit a campaign while it is DRAFT or SCHEDULED (409 after)', {
        description:
          'Changes the given fields of a DRAFT or SCHEDULED campaign; once it runs, has run or is cancelled it is a 409 CAMPAIGN_NOT_EDITABLE. Needs `campaigns:update`.',
        errors: { 409: [REASON.CAMPAIGN_NOT_EDITABLE] },
      }),
    )
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
        {
          description:
            'The audience size now and a sample of the messages as they would be rendered; sends and changes nothing. Needs `campaigns:read`.',
        },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignPreviewSchema)
    .query(({ ctx, input }) => previewCampaign(ctx.deps, input.id)),

  cancel: permissionProcedure('campaigns:update')
    .meta(
      rest(
        'POST',
        '/campaigns/{id}/cancel',
        'campaigns',
        'Cancel a campaign; its messages not yet sent are cancelled',
        {
          description:
            'Cancels a campaign; its messages not yet sent are cancelled. A COMPLETED campaign cannot be cancelled (409 CAMPAIGN_NOT_CANCELLABLE); cancelling a cancelled one changes nothing. Needs `campaigns:update`.',
          errors: { 409: [REASON.CAMPAIGN_NOT_CANCELLABLE] },
        },
      ),
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
        {
          description:
            "Queues one SMS per audience member (consent and quiet hours respected) and assigns the campaign's promotion, in one transaction. Idempotent: a second call sends nothing. A cancelled campaign is a 409 CAMPAIGN_CANCELLED, one whose promotion has closed a 409 PROMOTION_UNAVAILABLE. Has its own lower rate limit (`campaign-execute`). Needs `campaigns:execute`.",
          errors: { 409: [REASON.CAMPAIGN_CANCELLED, REASON.PROMOTION_UNAVAILABLE] },
        },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(campaignSchema)
    .mutation(async ({ ctx, input }) => (await executeCampaign(ctx.deps, ctx.caller, input)).campaign),
});
