// The steering port of an agent without a data plane (dataplane.mode: none): BGP and health only. The
// agent's ordered steps run as with XDP — VIP on lo, advertise, worsen, withdraw — and their ring steps
// have nothing to write: no program, no maps, no pins. The fabric's ECMP alone spreads the flows, so
// nothing keeps a connection on its host when the set of advertising hosts changes.
import type { ServiceConfig } from '../config/types.js';
import type { RingShares, SteeringPort } from './steering-port.js';

export class NoSteering implements SteeringPort {
  setServices(_services: readonly ServiceConfig[]): void {}
  setRing(_service: ServiceConfig, _kind: string, _members: readonly string[]): void {}
  setValid(_service: ServiceConfig, _instance: string, _valid: boolean): void {}
  removeService(_name: string): void {}
  shares(_name: string): RingShares {
    return { new: {}, established: {} };
  }
}
