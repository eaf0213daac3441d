/* --compare's report: the table, the text bar chart and the SVG chart of
 * the modes' results (compare.h). */
#include "compare.h"

#include <errno.h>
#include <stdio.h>

void crawl_compare_print(FILE *f, const crawl_mode_result *r, size_t n, int color)
{
    fprintf(f, "%-16s %6s %8s %8s %9s %7s %9s %11s %6s  %s\n", "mode", "pages", "seconds", "pages/s",
            "processes", "threads", "peak RSS", "CPU/page", "cores", "same URLs as the model");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%-16s %6zu %8.2f %8.0f %9d %7d %6.1f MB %8.0f us %6.2f  %s\n", r[i].name, r[i].fetched,
                r[i].seconds, r[i].pages_per_s, r[i].processes, r[i].peak_threads,
                (double)r[i].peak_rss_kb / 1024.0, r[i].cpu_per_page_us, r[i].cores, r[i].mismatches ? "NO" : "yes");
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].pages_per_s > max)
            max = r[i].pages_per_s;
    fprintf(f, "\npages/s\n");
    for (size_t i = 0; i < n; i++) {
        int w = max > 0 ? (int)(50.0 * r[i].pages_per_s / max + 0.5) : 0;
        fprintf(f, "%-16s %s", r[i].name, color ? "\033[32m" : "");
        for (int k = 0; k < w; k++)
            fputs(color ? "\u2588" : "#", f);
        fprintf(f, "%s %.0f\n", color ? "\033[0m" : "", r[i].pages_per_s);
    }
}

int crawl_compare_svg(const char *path, const crawl_mode_result *r, size_t n, const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const int W = 1100, left = 140, barw = 420, bh = 34, top = 56;
    int H = top + (int)n * (bh + 14) + 40;
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].pages_per_s > max)
            max = r[i].pages_per_s;
    static const char *const fill[] = { "#b0b0b0", "#c0504d", "#e8a33d", "#5b8def", "#2fa84f", "#1b6e34" };
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"13\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">",
            W, H, left);
    for (const char *p = title; *p; p++) /* escape for XML */
        fputs(*p == '<' ? "&lt;" : *p == '&' ? "&amp;" : *p == '>' ? "&gt;" : (char[]){ *p, 0 }, f);
    fprintf(f, "</text>\n<text x=\"%d\" y=\"42\" fill=\"#555\">pages per second (higher is better)</text>\n",
            left);
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * (bh + 14);
        int w = max > 0 ? (int)(barw * r[i].pages_per_s / max) : 0;
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n"
                "<text x=\"%d\" y=\"%d\">%.0f/s  (%.2f s, %d process%s, %d thread%s, %.1f MB, "
                "%.0f us CPU/page, %.2f cores)</text>\n",
                left - 8, y + bh / 2 + 5, r[i].name, left, y, w < 1 ? 1 : w, bh, fill[i % 6],
                left + (w < 1 ? 1 : w) + 6, y + bh / 2 + 5, r[i].pages_per_s, r[i].seconds, r[i].processes,
                r[i].processes == 1 ? "" : "es", r[i].peak_threads, r[i].peak_threads == 1 ? "" : "s",
                (double)r[i].peak_rss_kb / 1024.0, r[i].cpu_per_page_us, r[i].cores);
    }
    fprintf(f, "</svg>\n");
    return fclose(f) ? -errno : 0;
}
