import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { DeviceRow, DeviceSortKey } from '../../src-main/common/console-api';
import type { DeviceWindowLoader } from '../device-window-loader';
import { lastSeenText } from '../format/relative-time';
import { deviceHref } from '../route';
import { useDeviceList } from '../stores/device-list-store';
import { useNow } from '../use-now';

// The device table: an ARIA grid that renders only the rows on screen (fixed
// row height + overscan) and asks the loader for just those rows, so 100,000
// devices scroll as smoothly as 10. The grid element keeps keyboard focus and
// points at the active row with aria-activedescendant, so focus survives rows
// being recycled while scrolling.

export const ROW_HEIGHT = 36;
const OVERSCAN = 12;

const COLUMNS: { key: DeviceSortKey; label: string }[] = [
  { key: 'id', label: 'Name / ID' },
  { key: 'status', label: 'Status' },
  { key: 'online', label: 'Online' },
  { key: 'deviceType', label: 'Device type' },
  { key: 'os', label: 'OS' },
  { key: 'lastSeenMs', label: 'Last seen' },
];

interface Props {
  loader: DeviceWindowLoader;
  total: number;
  onOpen: (id: string) => void;
}

export function DeviceGrid({ loader, total, onOpen }: Props) {
  const { sort, descending, selected, active, scrollTop, sortBy, toggle, setActive, setScrollTop } = useDeviceList();
  const gridRef = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState(600);
  const now = useNow(30_000);

  // Track the grid's height so we know how many rows fit.
  useLayoutEffect(() => {
    const el = gridRef.current!;
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Restore the scroll position (e.g. coming back from a device page, or reset by a new filter).
  useLayoutEffect(() => {
    const el = gridRef.current!;
    if (Math.abs(el.scrollTop - scrollTop) > 1) el.scrollTop = scrollTop;
  }, [scrollTop]);

  const bodyHeight = viewport - ROW_HEIGHT; // the sticky header takes one row
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total - 1, Math.ceil((scrollTop + bodyHeight) / ROW_HEIGHT) + OVERSCAN);
  const pageRows = Math.max(1, Math.floor(bodyHeight / ROW_HEIGHT) - 1);
  const activeIndex = Math.min(active, Math.max(0, total - 1));

  useEffect(() => {
    if (total > 0) loader.show(first, last);
  }, [loader, first, last, total]);

  function moveTo(index: number): void {
    const target = Math.max(0, Math.min(total - 1, index));
    setActive(target);
    const top = target * ROW_HEIGHT;
    const el = gridRef.current!;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + bodyHeight) el.scrollTop = top + ROW_HEIGHT - bodyHeight;
    setScrollTop(el.scrollTop);
  }

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>): void {
    // Sort buttons in the header handle their own Enter/Space.
    if ((e.target as HTMLElement).tagName === 'BUTTON' || total === 0) return;
    const row = loader.rowAt(activeIndex);
    const moves: Record<string, number> = {
      ArrowDown: activeIndex + 1,
      ArrowUp: activeIndex - 1,
      PageDown: activeIndex + pageRows,
      PageUp: activeIndex - pageRows,
      Home: 0,
      End: total - 1,
    };
    if (e.key in moves) moveTo(moves[e.key]);
    else if (e.key === ' ' && row) toggle(row.id);
    else if (e.key === 'Enter' && row) onOpen(row.id);
    else return;
    e.preventDefault();
  }

  const rows = [];
  for (let i = first; i <= last; i++) {
    rows.push(
      <GridRow
        key={i}
        index={i}
        row={loader.rowAt(i)}
        active={i === activeIndex}
        selected={(id) => selected.has(id)}
        now={now}
        onToggle={toggle}
        onActivate={() => {
          setActive(i);
          gridRef.current!.focus({ preventScroll: true });
        }}
        onOpen={onOpen}
      />,
    );
  }

  return (
    <div
      ref={gridRef}
      className="grid"
      role="grid"
      aria-label="Devices"
      aria-rowcount={total + 1}
      aria-colcount={COLUMNS.length + 1}
      aria-multiselectable="true"
      aria-activedescendant={total > 0 ? `device-row-${activeIndex}` : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div role="rowgroup" className="grid-head">
        <div role="row" aria-rowindex={1} className="grid-row">
          <div role="columnheader" aria-colindex={1} className="cell cell-check">
            <span className="sr-only">Selected</span>
          </div>
          {COLUMNS.map((col, c) => (
            <div
              key={col.key}
              role="columnheader"
              aria-colindex={c + 2}
              aria-sort={sort === col.key ? (descending ? 'descending' : 'ascending') : 'none'}
              className="cell"
            >
              <button type="button" className="sort-button" onClick={() => sortBy(col.key)}>
                {col.label}
                <span aria-hidden="true" className="sort-mark">
                  {sort === col.key ? (descending ? '▼' : '▲') : ''}
                </span>
              </button>
            </div>
          ))}
        </div>
      </div>
      <div role="rowgroup" className="grid-body" style={{ height: total * ROW_HEIGHT }}>
        {rows}
      </div>
    </div>
  );
}

interface RowProps {
  index: number;
  row: DeviceRow | undefined;
  active: boolean;
  selected: (id: string) => boolean;
  now: number;
  onToggle: (id: string) => void;
  onActivate: () => void;
  onOpen: (id: string) => void;
}

function GridRow({ index, row, active, selected, now, onToggle, onActivate, onOpen }: RowProps) {
  const style = { transform: `translateY(${index * ROW_HEIGHT}px)` };
  const common = {
    id: `device-row-${index}`,
    role: 'row',
    'aria-rowindex': index + 2,
    style,
  };
  if (!row) {
    return (
      <div {...common} aria-busy="true" className="grid-row loading">
        <div role="gridcell" aria-colindex={1} className="cell cell-check" />
        <div role="gridcell" aria-colindex={2} className="cell muted">
          Loading…
        </div>
      </div>
    );
  }
  const isSelected = selected(row.id);
  return (
    <div
      {...common}
      data-testid="device-row"
      data-device-id={row.id}
      aria-selected={isSelected}
      className={`grid-row${active ? ' active' : ''}${isSelected ? ' selected' : ''}`}
      onMouseDown={(e) => {
        e.preventDefault(); // focus stays on the grid, not on the checkbox or link
        onActivate();
      }}
      onDoubleClick={() => onOpen(row.id)}
    >
      <div role="gridcell" aria-colindex={1} className="cell cell-check">
        <input type="checkbox" tabIndex={-1} aria-label={`Select ${row.id}`} checked={isSelected} onChange={() => onToggle(row.id)} />
      </div>
      <div role="gridcell" aria-colindex={2} className="cell cell-id">
        <a href={deviceHref(row.id)} tabIndex={-1}>
          {row.id}
        </a>
      </div>
      <div role="gridcell" aria-colindex={3} className="cell">
        <span className={`badge status-${row.status}`}>{row.status}</span>
      </div>
      <div role="gridcell" aria-colindex={4} className="cell">
        <span className={`dot ${row.online ? 'on' : 'off'}`} aria-hidden="true" />
        {row.online ? 'online' : 'offline'}
      </div>
      <div role="gridcell" aria-colindex={5} className="cell">
        {row.deviceType}
      </div>
      <div role="gridcell" aria-colindex={6} className="cell" title={row.os}>
        {row.os}
      </div>
      <div role="gridcell" aria-colindex={7} className="cell" title={row.lastSeenMs ? new Date(row.lastSeenMs).toLocaleString() : undefined}>
        {lastSeenText(row.online, row.lastSeenMs, now)}
      </div>
    </div>
  );
}
