/* SPDX-License-Identifier: MIT */
/*
 * The status pipe from a process being restored to crload: errors before
 * the restorer runs go back as "M<message>"; the restorer itself reports
 * "K" or "E<rst_status>". Before either, "N<notice>\n" lines are for
 * crload to print, and the restore goes on.
 */
#ifndef SELFCKPT_LOADER_STATUS_H
#define SELFCKPT_LOADER_STATUS_H

void status_message(int fd, const char *msg);
void status_notice(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
