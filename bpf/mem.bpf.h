/* Memory accounting: the resident set of an mm, read the way the kernel's
 * get_mm_rss() does. Later: the per-container cap on tp_btf/rss_stat. */
#pragma once

/* Before 6.2, mm->rss_stat was a struct of atomic_long_t; since, it is an
 * array of percpu_counter. The ___pre62 flavours let CO-RE pick. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[NR_MM_COUNTERS];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* Resident pages: file + anon + shmem. percpu_counter.count lags by at most
 * the per-CPU batch, which is what the rss_stat tracepoint reports too. */
static __always_inline __s64 rl_mm_rss_pages(struct mm_struct *mm)
{
	__s64 pages;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;

		pages = BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter) +
			BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter) +
			BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter);
	} else {
		pages = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count) +
			BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count) +
			BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
	}
	return pages < 0 ? 0 : pages;
}
