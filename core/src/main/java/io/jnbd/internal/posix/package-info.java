/**
 * Linux system calls through the Foreign Function &amp; Memory API: AF_VSOCK
 * and AF_UNIX sockets as owned descriptors ({@link io.jnbd.internal.posix.Fd}),
 * and child processes spawned with posix_spawnp that receive a chosen
 * descriptor ({@link io.jnbd.internal.posix.Subprocess}). Never forks.
 */
package io.jnbd.internal.posix;
