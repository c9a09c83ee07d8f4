import { useEffect, useRef } from 'preact/hooks';

/** The view's title, focused when the view opens, so that keyboard and screen-reader users start there. */
export function Heading({ children }: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 id="view-title" ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
