// One entry point for a framed message: checks the header (RFC 4271 §6.1) and dispatches on the type.

import type { AttrContext } from './attributes/types.js';
import { MAX_MESSAGE_LENGTH, MessageType } from './constants.js';
import { checkMessage } from './header.js';
import { decodeNotification, type NotificationMessage } from './notification.js';
import { decodeOpen, type OpenMessage } from './open.js';
import { decodeRouteRefresh, type RouteRefreshMessage } from './route-refresh.js';
import { type DecodedUpdate, decodeUpdate } from './update.js';

export type BgpMessage =
  | ({ type: 'open' } & OpenMessage)
  | ({ type: 'update' } & DecodedUpdate)
  | ({ type: 'notification' } & NotificationMessage)
  | { type: 'keepalive' }
  | ({ type: 'route-refresh' } & RouteRefreshMessage);

/** Decode one whole message (as the Framer yields them). Throws BgpCodecError. */
export function decodeMessage(msg: Buffer, ctx: AttrContext, max = MAX_MESSAGE_LENGTH): BgpMessage {
  switch (checkMessage(msg, max)) {
    case MessageType.OPEN:
      return { type: 'open', ...decodeOpen(msg) };
    case MessageType.UPDATE:
      return { type: 'update', ...decodeUpdate(msg, ctx) };
    case MessageType.NOTIFICATION:
      return { type: 'notification', ...decodeNotification(msg) };
    case MessageType.KEEPALIVE:
      return { type: 'keepalive' };
    case MessageType.ROUTE_REFRESH:
      return { type: 'route-refresh', ...decodeRouteRefresh(msg) };
  }
}
