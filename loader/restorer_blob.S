/* SPDX-License-Identifier: MIT */
/* The restorer blob, built from loader/restorer/ as a flat binary. */
	.section .rodata
	.balign 4096
	.globl restorer_blob
	.hidden restorer_blob
restorer_blob:
	.incbin "loader/restorer/restorer.bin"
	.globl restorer_blob_end
	.hidden restorer_blob_end
restorer_blob_end:

	.section .note.GNU-stack,"",@progbits
