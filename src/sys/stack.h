/* stack.h: returning a thread's deep, no longer used stack pages to the kernel.
 *
 * On the threads server model each client connection has its own thread, whose stack keeps
 * every page the request's handling touched (JSON parsing, compression, logging) resident
 * while the answer streams for minutes at a much shallower depth. Dropping the pages below
 * the current frame (less a margin) before such a long, shallow phase makes an open stream
 * cost only the pages it uses; a later deep call faults fresh zero pages back in. */
#ifndef HR_SYS_STACK_H
#define HR_SYS_STACK_H

#include <stddef.h>

/* Releases the calling thread's stack pages more than margin bytes below the caller's frame
 * (MADV_DONTNEED: they read as zeros when touched again). Returns the bytes released, 0 when
 * there is nothing below the margin or the stack's bounds are unknown (the main thread's,
 * or pthread_getattr_np failed). Only for stacks that grow down (x86-64, arm64). */
size_t hr_stack_release_below(size_t margin);

#endif
