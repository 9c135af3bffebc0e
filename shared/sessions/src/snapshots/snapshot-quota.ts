// A tenant's snapshot quota: how many snapshot images it may keep and how many bytes together, paused sessions'
// images included (they are the tenant's data on this server's disk as much as its snapshots). The server's
// quota narrowed by the tenant policy and the caller's token; never widened. It must be checked twice: before a
// checkpoint (a tenant at its quota disturbs no session), and once the image's size is known, under the store's
// per-tenant lock (so two snapshots at once cannot both take the last room).

import type { SnapshotCeilings } from '@airlock/auth';
import { AirlockError } from '@airlock/protocol';

export interface SnapshotQuotaLimits {
  /** Images (snapshots and pause images) the tenant may keep. */
  max_count: number;
  /** Bytes of those images together. */
  max_bytes: number;
}

/** What a tenant keeps now (expired snapshots no longer count). */
export interface SnapshotUsage {
  snapshots: number;
  /** Pause images of its paused sessions. */
  paused: number;
  bytes: number;
}

/** The server's quota narrowed by the caller's ceilings. */
export function quotaFor(server: SnapshotQuotaLimits, ceilings: SnapshotCeilings): SnapshotQuotaLimits {
  return {
    max_count: Math.min(server.max_count, ceilings.max_count ?? server.max_count),
    max_bytes: Math.min(server.max_bytes, ceilings.max_bytes ?? server.max_bytes),
  };
}

/**
 * Throws `snapshot_quota_exceeded` unless the tenant has room for one more image: of `size` bytes once its size
 * is known; before that, room for any image at all.
 */
export function ensureRoom(
  tenant: string,
  quota: SnapshotQuotaLimits,
  usage: SnapshotUsage,
  size?: number,
): void {
  const count = usage.snapshots + usage.paused;
  const holds = `it holds ${count} (${usage.snapshots} snapshots and ${usage.paused} paused sessions' images, ${usage.bytes} bytes)`;
  if (count + 1 > quota.max_count) {
    throw new AirlockError(
      'snapshot_quota_exceeded',
      `tenant ${tenant}'s snapshot quota is ${quota.max_count} snapshots; ${holds}: delete a snapshot first`,
    );
  }
  const bytes = usage.bytes + (size ?? 0);
  if (size === undefined ? bytes >= quota.max_bytes : bytes > quota.max_bytes) {
    const image = size === undefined ? '' : ` and this snapshot is ${size} bytes (it was not kept)`;
    throw new AirlockError(
      'snapshot_quota_exceeded',
      `tenant ${tenant}'s snapshot quota is ${quota.max_bytes} bytes; ${holds}${image}: delete a snapshot first`,
    );
  }
}
