import {
  idSchema,
  listMessagesInput,
  messagePage,
  messageSchema,
  messageTemplateSchema,
  REASON,
  sendMessageInput,
  templatedMessageTypeSchema,
  updateMessageTemplateInput,
} from '@touch-crm/contract';
import {
  getMessage,
  getMessageTemplate,
  listMessages,
  listMessageTemplates,
  sendMessage,
  updateMessageTemplate,
} from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const messagesRouter = router({
  list: permissionProcedure('messages:read')
    .meta(
      rest(
        'GET',
        '/messages',
        'messages',
        'List SMS messages with their delivery status (customer, campaign, status, type; paginated). Reps see their customers’',
        {
          description:
            'SMS messages, outbound and inbound, with their status (QUEUED, SENT, DELIVERED, UNDELIVERED, FAILED, SKIPPED …), filtered by customer, campaign, status, type and `updatedAfter`, with page or cursor pagination. `messages:read_all` sees every message, `messages:read_own` those to own customers.',
        },
      ),
    )
    .input(listMessagesInput)
    .output(messagePage)
    .query(({ ctx, input }) => listMessages(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('messages:read')
    .meta(
      rest('GET', '/messages/{id}', 'messages', 'Get one SMS message', {
        description:
          'One SMS message: text, customer, type, status and its timestamps. Needs `messages:read` on its customer.',
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(messageSchema)
    .query(({ ctx, input }) => getMessage(ctx.deps, ctx.caller, input)),

  send: permissionProcedure('messages:send')
    .meta(
      rest('POST', '/messages', 'messages', 'Text one customer (own customers with messages:send_own)', {
        description:
          "Texts one customer through the same queue, rules and template variables as every message. `kind: marketing` keeps the marketing rules (held by quiet hours in the customer's time zone); `transactional` goes at once. A customer who withdrew consent gets neither (409 SMS_CONSENT_WITHDRAWN); marketing to a phone the carrier called undeliverable is a 409 PHONE_UNDELIVERABLE. An unknown customer, or one outside the caller's scope, is a 404. Needs `messages:send` (`_own`: own customers).",
        successStatus: 201,
        errors: { 404: [], 409: [REASON.SMS_CONSENT_WITHDRAWN, REASON.PHONE_UNDELIVERABLE] },
      }),
    )
    .input(sendMessageInput)
    .output(messageSchema)
    .mutation(({ ctx, input }) => sendMessage(ctx.deps, ctx.caller, input)),
});

export const messageTemplatesRouter = router({
  list: permissionProcedure('message_templates:read')
    .meta(
      rest('GET', '/message-templates', 'messages', 'The SMS template of each message type, with its variables', {
        description:
          'The SMS template of each message type (WELCOME, BIRTHDAY, INACTIVITY, CAMPAIGN, PROMOTION, MANUAL …) with the {{variables}} it may use. Needs `message_templates:read`.',
      }),
    )
    .input(z.void())
    .output(z.array(messageTemplateSchema))
    .query(({ ctx }) => listMessageTemplates(ctx.deps)),

  get: permissionProcedure('message_templates:read')
    .meta(
      rest('GET', '/message-templates/{type}', 'messages', 'The SMS template of one message type', {
        description: 'The SMS template of one message type, with its variables. Needs `message_templates:read`.',
      }),
    )
    .input(z.object({ type: templatedMessageTypeSchema }))
    .output(messageTemplateSchema)
    .query(({ ctx, input }) => getMessageTemplate(ctx.deps, input.type)),

  update: permissionProcedure('message_templates:update')
    .meta(
      rest(
        'PUT',
        '/message-templates/{type}',
        'messages',
        "Replace a message type's template; an unknown {{variable}} is a 400 naming `body`",
        {
          description:
            "Replaces the template of a message type; it is checked against the type's variables (an unknown {{variable}} or a bad placeholder is a 400 naming `body`). Needs `message_templates:update`.",
        },
      ),
    )
    .input(updateMessageTemplateInput)
    .output(messageTemplateSchema)
    .mutation(({ ctx, input }) => updateMessageTemplate(ctx.deps, ctx.caller, input)),
});
