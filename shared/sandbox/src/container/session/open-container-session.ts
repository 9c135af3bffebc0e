// Opens one python session container and its lease: a fresh container whose kernel is handed its key and must
// say it is ready within the start timeout, or a container restored from a checkpoint image (its kernel between
// cells, its key the image's; a ready-made image's kernel is given a fresh key, and must say it is ready under it
// within the start timeout). A session that does not come up is closed, so its container never stays behind.

import type { SessionImage, SessionSpec } from '../../sandbox.ts';
import { startContainer } from '../attached-container.ts';
import { containerSpec } from '../container-spec.ts';
import { type ContainerSessionContext, KERNEL_COMMAND } from './container-session-context.ts';
import { ContainerSessionLease } from './container-session-lease.ts';

/** A session container restored from an image: a snapshot's (its key), or a ready-made one (`rekey`: its own). */
export interface RestoreFrom {
  image: SessionImage;
  /** The image is a ready-made kernel's: the session gets a key of its own before its first cell. */
  rekey: boolean;
}

export async function openContainerSession(
  spec: SessionSpec,
  context: ContainerSessionContext,
  from?: RestoreFrom,
): Promise<ContainerSessionLease> {
  const image = from?.image;
  const container = await startContainer({
    docker: context.docker,
    spec: containerSpec({
      image: context.image,
      runtime: context.runtime,
      backend: context.backend,
      profile: { memoryMb: spec.limits.memory_mb },
      instance: context.instance,
      session: {
        id: spec.sessionId,
        command: context.workdir === undefined ? KERNEL_COMMAND : [...KERNEL_COMMAND, context.workdir],
      },
      ...(image === undefined ? {} : { restoreFrom: image.folder }),
    }),
    timeoutMs: context.dockerTimeoutMs,
    discard: (c) => context.removals.remove(c),
  });
  const session = new ContainerSessionLease(spec.sessionId, container, context, image?.kernel);
  try {
    // A restored kernel is where its checkpoint left it: between cells, its key long known.
    if (image === undefined) await session.ready();
    else if (container.isEnded) throw new Error(`the restored session kernel exited: ${session.stderrTail}`);
    else if (from?.rekey) await session.rekey();
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}
