// Protocol numbers and header sizes shared by the model, the packet builders and the control side
// (the same names as bpf/consts.h).

export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const VLAN_HLEN = 4;
export const VLAN_MAX_DEPTH = 2;

export const IPV4_HLEN = 20;
export const IPV6_HLEN = 40;
export const IPV6_FRAG_HLEN = 8;
export const IPV6_NEXTHDR_FRAG = 44;
export const IPV4_MF = 0x2000;
export const IPV4_OFFSET = 0x1fff;
export const IPV4_DF = 0x4000;
export const ENCAP_TTL = 64;
export const TCP_FLAGS_OFF = 13;
export const TCP_SEQ_OFF = 4; // sequence number in the TCP header
export const TCP_RST = 0x04;
export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;
export const ICMP_HLEN = 8;

export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;

export const ICMP_ECHO_REQUEST = 8;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMPROB = 12;
export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_NEIGHBOR_SOLICIT = 135;
export const ICMP6_QUOTE_MAX = 256;
export const ICMP4_QUOTE_MAX = 68;

/** XDP verdicts (enum xdp_action). */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
