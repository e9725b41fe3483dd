// Link state of the uplinks: a link is usable while it is administratively up (IFF_UP) and has
// carrier (IFF_LOWER_UP, which a veth loses when its peer end goes down and a NIC when the cable or the
// switch port does). Every change arrives as an rtnetlink RTM_NEWLINK notification
// (RTNLGRP_LINK, no polling); a watched link that disappears (RTM_DELLINK) is down. An overrun (the
// kernel dropped notifications) is answered with a fresh dump, so no change is missed for good.
// Reports only transitions, per interface name.

import type { Rtnetlink } from '../native/rtnl.js';
import { watchRtnl } from '../native/rtnl-events.js';
import type { Link } from '../netlink/rtnl-codec.js';

/** What the watcher needs of the kernel: a dump of the links, and change notifications. */
export interface LinkSource {
  links(): Link[];
  /** Calls `onLink` for each changed link (`deleted` for RTM_DELLINK), `onOverrun` when some were lost. */
  watch(onLink: (link: Link, deleted: boolean) => void, onOverrun: () => void): () => void;
}

const usable = (l: Link): boolean => l.up && l.lowerUp;

export class LinkStateWatcher {
  /** Interface name → usable, of the links watched; a name not present is down. */
  readonly #state = new Map<string, boolean>();
  readonly #names: Set<string>;
  #unwatch: (() => void) | undefined;

  constructor(
    names: Iterable<string>,
    private readonly source: LinkSource,
    private readonly onChange: (ifname: string, up: boolean) => void,
  ) {
    this.#names = new Set(names);
  }

  /** Reads every watched link now, then follows changes. */
  start(): void {
    this.#unwatch = this.source.watch(
      (link, deleted) => this.#set(link.name, !deleted && usable(link)),
      () => this.#resync(),
    );
    this.#resync();
  }

  /** Watch this set of names from now on (links no longer named are forgotten). */
  setNames(names: Iterable<string>): void {
    this.#names.clear();
    for (const n of names) this.#names.add(n);
    for (const n of [...this.#state.keys()]) if (!this.#names.has(n)) this.#state.delete(n);
    this.#resync();
  }

  /** Is the link usable? undefined: not watched, or not seen yet. */
  isUp(ifname: string): boolean | undefined {
    return this.#state.get(ifname);
  }

  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #resync(): void {
    const links = new Map(this.source.links().map((l) => [l.name, l]));
    for (const name of this.#names) {
      const l = links.get(name);
      this.#set(name, l !== undefined && usable(l));
    }
  }

  #set(name: string, up: boolean): void {
    if (!this.#names.has(name)) return;
    const before = this.#state.get(name);
    if (before === up) return;
    this.#state.set(name, up);
    // The first reading of a link that is up is no news; one that starts down is.
    if (before === undefined && up) return;
    this.onChange(name, up);
  }
}

/** The kernel's links over `rtnl`, and RTNLGRP_LINK notifications in `netns`. */
export function kernelLinkSource(rtnl: Pick<Rtnetlink, 'links'>, netns?: string): LinkSource {
  return {
    links: () => rtnl.links(),
    watch(onLink, onOverrun) {
      const w = watchRtnl(
        ['link'],
        (e) => {
          if (e.type === 'link') onLink(e.link, e.action === 'del');
          else if (e.type === 'overrun') onOverrun();
        },
        { netns },
      );
      return () => w.close();
    },
  };
}
