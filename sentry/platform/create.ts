// The platforms a sandbox can run on, chosen by name (runsc --platform).
import type { MemoryFile } from '../mm/memfile';
import type { Platform } from './platform';
import { PtracePlatform } from './ptrace/ptrace';
import { KvmPlatform } from './kvm/kvm';

export const PLATFORMS = ['ptrace', 'kvm'] as const;
export type PlatformName = (typeof PLATFORMS)[number];

export function createPlatform(name: PlatformName, mf: MemoryFile): Platform {
  switch (name) {
    case 'ptrace':
      return new PtracePlatform(mf);
    case 'kvm':
      return new KvmPlatform(mf);
  }
}
