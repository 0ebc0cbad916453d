// The platforms a sandbox can run on, chosen by name (runsc --platform).
import type { MemoryFile } from '../mm/memfile';
import type { Platform } from './platform';
import { PtracePlatform } from './ptrace/ptrace';

export const PLATFORMS = ['ptrace'] as const;
export type PlatformName = (typeof PLATFORMS)[number];

export function createPlatform(name: PlatformName, mf: MemoryFile): Platform {
  switch (name) {
    case 'ptrace':
      return new PtracePlatform(mf);
  }
}
