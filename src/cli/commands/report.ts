/**
 * `tailplow report --out report.html`: the dashboard's views for one time range as a single
 * self-contained HTML file (Chart.js, script and data inlined), for cron and e-mail.
 */
import { writeFileSync, renameSync } from 'node:fs';
import type { Command } from 'commander';
import { openSource, type SourceOptions } from '../../dashboard/open';
import { renderPage } from '../../dashboard/page';
import { FilterError, filtersFrom, runViews } from '../../dashboard/queries';
import { outputError, usageError } from '../errors';
import { addSourceOptions } from './dashboard';

interface ReportOptions extends SourceOptions {
  out: string;
  from?: string;
  to?: string;
  granularity?: string;
  appId?: string;
  page?: string;
  title: string;
}

export function registerReport(program: Command): void {
  const command = program.command('report').description('Write the dashboard\'s views for a time range as one self-contained HTML file (works offline)');
  addSourceOptions(command)
    .requiredOption('-o, --out <file>', 'HTML file to write')
    .option('--from <time>', 'start: ISO date/time (UTC), Unix seconds or a span back from now like 7d (default 7d)')
    .option('--to <time>', 'end (exclusive), same forms (default now)')
    .option('--granularity <g>', 'minute, hour, day, week or month (default: fits the range)')
    .option('--app-id <id>', 'only this app_id')
    .option('--page <path>', 'only this page path')
    .option('--title <text>', 'report title', 'tailplow report')
    .action(async (opts: ReportOptions) => {
      let filters;
      try {
        filters = filtersFrom({ from: opts.from, to: opts.to, granularity: opts.granularity, app_id: opts.appId, page: opts.page });
      } catch (err) {
        if (err instanceof FilterError) throw usageError(err.message);
        throw err;
      }
      const source = await openSource(opts);
      try {
        if (!(await source.tableExists())) throw usageError(`no events table ${source.table} in ${source.location}`);
        const analytics = await runViews(source, filters);
        const html = renderPage({ title: opts.title, location: `${source.engine} ${source.location} ${source.table}`, mode: 'report', data: { ...analytics, generatedAt: new Date().toISOString() } });
        // Written aside and renamed, so a mail job never attaches half a report.
        const partial = `${opts.out}.partial`;
        try {
          writeFileSync(partial, html);
          renameSync(partial, opts.out);
        } catch (err) {
          throw outputError(`cannot write ${opts.out}: ${(err as Error).message}`);
        }
        const s = analytics.views.summary?.[0] ?? { visitors: 0, sessions: 0, page_views: 0, events: 0 };
        process.stderr.write(`tailplow report: ${opts.out} (${Math.round(html.length / 1024)} KiB): ${s.visitors} visitors, ${s.sessions} sessions, ${s.page_views} page views, ${s.events} events\n`);
      } finally {
        await source.close();
      }
    });
}
