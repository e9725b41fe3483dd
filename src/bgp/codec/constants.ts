// BGP-4 wire constants: message types, NOTIFICATION codes and subcodes, attribute type codes and flags,
// AFI/SAFI, capability codes. RFC 4271 §4 and §6, RFC 4760, RFC 5492, RFC 6793, RFC 2918, RFC 7313,
// RFC 4724, RFC 8950, RFC 1997, RFC 8092, RFC 6608, RFC 4486, RFC 8326.

export const BGP_VERSION = 4;
export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1: maximum message size (RFC 8654 raises it to 65535 when negotiated). */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 6793: the 2-octet placeholder for a 4-octet AS number. */
export const AS_TRANS = 23456;
export const MAX_AS2 = 0xffff;

export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Minimum length of each message type including the header (RFC 4271 §4, RFC 2918 §3). */
export const MIN_LENGTH: Record<MessageTypeCode, number> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5). */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7,
} as const;

export const HeaderSubcode = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

export const OpenSubcode = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7, // RFC 5492
} as const;

export const UpdateSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN: 2,
  MISSING_WELL_KNOWN: 3,
  ATTRIBUTE_FLAGS: 4,
  ATTRIBUTE_LENGTH: 5,
  INVALID_ORIGIN: 6,
  INVALID_NEXT_HOP: 8,
  OPTIONAL_ATTRIBUTE: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608 FSM error subcodes. */
export const FsmSubcode = {
  UNSPECIFIED: 0,
  UNEXPECTED_IN_OPEN_SENT: 1,
  UNEXPECTED_IN_OPEN_CONFIRM: 2,
  UNEXPECTED_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486 Cease subcodes (+ RFC 9687 hard reset, not used here). */
export const CeaseSubcode = {
  MAX_PREFIXES: 1,
  ADMIN_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMIN_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIG_CHANGE: 6,
  CONNECTION_COLLISION: 7,
  OUT_OF_RESOURCES: 8,
} as const;

export const RouteRefreshSubcode = { INVALID_LENGTH: 1 } as const;

/** Valid subcodes per NOTIFICATION code, for validation and the fuzz test (RFC 4271 §6 and updates). */
export const VALID_SUBCODES: Record<number, readonly number[]> = {
  [ErrorCode.MESSAGE_HEADER]: Object.values(HeaderSubcode),
  [ErrorCode.OPEN_MESSAGE]: Object.values(OpenSubcode),
  [ErrorCode.UPDATE_MESSAGE]: Object.values(UpdateSubcode),
  [ErrorCode.HOLD_TIMER_EXPIRED]: [0],
  [ErrorCode.FSM]: Object.values(FsmSubcode),
  [ErrorCode.CEASE]: [0, ...Object.values(CeaseSubcode)],
  [ErrorCode.ROUTE_REFRESH]: Object.values(RouteRefreshSubcode),
};

/** Path attribute flag bits (RFC 4271 §4.3). */
export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** Path attribute type codes. */
export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MED: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8, // RFC 1997
  MP_REACH_NLRI: 14, // RFC 4760
  MP_UNREACH_NLRI: 15, // RFC 4760
  AS4_PATH: 17, // RFC 6793
  AS4_AGGREGATOR: 18, // RFC 6793
  LARGE_COMMUNITIES: 32, // RFC 8092
} as const;

export const Origin = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;
export type OriginCode = (typeof Origin)[keyof typeof Origin];

/** AS_PATH segment types (RFC 4271 §4.3, RFC 5065). */
export const SegmentType = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;

export const Afi = { IPV4: 1, IPV6: 2 } as const;
export type AfiCode = (typeof Afi)[keyof typeof Afi];
export const Safi = { UNICAST: 1 } as const;

/** Capability codes (IANA registry). */
export const CapabilityCode = {
  MULTIPROTOCOL: 1, // RFC 4760
  ROUTE_REFRESH: 2, // RFC 2918
  EXTENDED_NEXT_HOP: 5, // RFC 8950
  EXTENDED_MESSAGE: 6, // RFC 8654
  GRACEFUL_RESTART: 64, // RFC 4724
  FOUR_OCTET_AS: 65, // RFC 6793
  ENHANCED_ROUTE_REFRESH: 70, // RFC 7313
} as const;

/** OPEN optional parameter type carrying capabilities (RFC 5492). */
export const OPT_PARAM_CAPABILITIES = 2;

/** Well-known communities (RFC 1997, RFC 8326, RFC 7999). */
export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: 0xffff0000, // 65535:0, RFC 8326
  BLACKHOLE: 0xffff029a, // 65535:666, RFC 7999
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NOPEER: 0xffffff04, // RFC 3765
} as const;
