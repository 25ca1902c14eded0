/* sra_alloc.S: the stack relocation allocator's entry point.
 *
 * Built twice from this file: plain (libsra.a) and with SRA_AUDIT defined
 * (libsra_audit.a).  See include/sra.h for the layout it produces.
 *
 * The CFI is exact at every instruction: until the stub is relocated the CFA
 * is the caller's RSP before the call (R); once RBP points at the relocated
 * copy the CFA is R - reserved, which is exactly the caller's RSP after the
 * return, so an unwinder stopped anywhere in here recovers the caller's
 * registers as they will be (or were) on either side of the relocation.
 */

#ifdef SRA_AUDIT
#define EXTRA 32
#else
#define EXTRA 16
#endif
#define RESERVE (32 * 1024)

        .text
        .globl  sra_alloc
        .type   sra_alloc, @function
        .p2align 4
sra_alloc:
        .cfi_startproc
        endbr64
        pushq   %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq    %rsp, %rbp                      /* rbp = R - 16: the original stub */
        .cfi_def_cfa_register %rbp
        movq    sra__stack_low@gottpoff(%rip), %rax
        movq    %fs:(%rax), %rcx                /* lowest usable stack address */
        testq   %rcx, %rcx
        jz      .Linit
.Lhave_low:
        movq    %rsp, %rdx
        subq    %rcx, %rdx                      /* rdx = RSP - low */
        jb      .Lfail
        subq    $(RESERVE + EXTRA - 16), %rdx   /* largest round16(size) we may give */
        jb      .Lfail
        cmpq    %rdx, %rdi
        ja      .Lfail
        leaq    15(%rdi), %rdx
        andq    $-16, %rdx
        addq    $EXTRA, %rdx                    /* rdx = reserved */
        subq    %rdx, %rsp                      /* claim it before touching it */
        movq    (%rbp), %rax                    /* relocate the stub */
        movq    %rax, (%rsp)
        movq    8(%rbp), %rax
        movq    %rax, 8(%rsp)
#ifdef SRA_AUDIT
        /* header at H = rbp - 16: size, seq, check; saved rbp and the call
         * site are the original stub at rbp. */
        movq    %rdi, -16(%rbp)
        movq    sra__seq@gottpoff(%rip), %rcx
        movl    %fs:(%rcx), %edx
        addl    $1, %edx
        movl    %edx, %fs:(%rcx)
        movl    %edx, -8(%rbp)
        movabsq $0x5352416175646974, %rax
        xorq    %rdi, %rax
        xorq    %rdx, %rax                      /* seq, zero-extended */
        xorq    (%rbp), %rax
        xorq    8(%rbp), %rax
        leaq    -16(%rbp), %rcx
        xorq    %rcx, %rax
        movq    %rax, %rcx
        shrq    $32, %rcx
        xorl    %ecx, %eax
        movl    %eax, -4(%rbp)
#endif
        movq    %rsp, %rbp                      /* RBP = relocated stub: CFA = R - reserved */
        leaq    16(%rsp), %rax                  /* the block, = caller's RSP after return */
        .cfi_remember_state
        leave
        .cfi_def_cfa %rsp, 8
        .cfi_restore %rbp
        ret

        /* Both paths below branch from where the CFA is RBP + 16 = R and
         * RBP is saved at R - 16. */
        .cfi_restore_state
.Lfail:
        xorl    %eax, %eax
        .cfi_remember_state
        popq    %rbp
        .cfi_def_cfa %rsp, 8
        .cfi_restore %rbp
        ret

        .cfi_restore_state
.Linit:
        pushq   %rdi
        subq    $8, %rsp
        call    sra__init_stack_low             /* returns the low bound in rax */
        addq    $8, %rsp
        popq    %rdi
        movq    %rax, %rcx
        jmp     .Lhave_low
        .cfi_endproc
        .size   sra_alloc, .-sra_alloc

        .section .note.GNU-stack,"",@progbits

        /* This object is IBT and SHSTK compatible (endbr64 at the only
         * indirect-branch target; the return goes to the call's own return
         * address, so the shadow stack agrees). */
        .section .note.gnu.property,"a"
        .p2align 3
        .long   4
        .long   16
        .long   5                               /* NT_GNU_PROPERTY_TYPE_0 */
        .asciz  "GNU"
        .long   0xc0000002                      /* GNU_PROPERTY_X86_FEATURE_1_AND */
        .long   4
        .long   3                               /* IBT | SHSTK */
        .p2align 3
