import {
  idSchema,
  listMessagesInput,
  messagePage,
  messageSchema,
  messageTemplateSchema,
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
      ),
    )
    .input(listMessagesInput)
    .output(messagePage)
    .query(({ ctx, input }) => listMessages(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('messages:read')
    .meta(rest('GET', '/messages/{id}', 'messages', 'Get one SMS message'))
    .input(z.object({ id: idSchema }))
    .output(messageSchema)
    .query(({ ctx, input }) => getMessage(ctx.deps, ctx.caller, input)),

  send: permissionProcedure('messages:send')
    .meta(
      rest('POST', '/messages', 'messages', 'Text one customer (own customers with messages:send_own)', {
        successStatus: 201,
      }),
    )
    .input(sendMessageInput)
    .output(messageSchema)
    .mutation(({ ctx, input }) => sendMessage(ctx.deps, ctx.caller, input)),
});

export const messageTemplatesRouter = router({
  list: permissionProcedure('message_templates:read')
    .meta(rest('GET', '/message-templates', 'messages', 'The SMS template of each message type, with its variables'))
    .input(z.void())
    .output(z.array(messageTemplateSchema))
    .query(({ ctx }) => listMessageTemplates(ctx.deps)),

  get: permissionProcedure('message_templates:read')
    .meta(rest('GET', '/message-templates/{type}', 'messages', 'The SMS template of one message type'))
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
      ),
    )
    .input(updateMessageTemplateInput)
    .output(messageTemplateSchema)
    .mutation(({ ctx, input }) => updateMessageTemplate(ctx.deps, ctx.caller, input)),
});
