// A chart of Observable Plot inside React: the element Plot makes replaces the previous one
// whenever `deps` change (a new answer, another theme). Plot draws axes and text in currentColor,
// so the page's colours (light or dark) carry into the charts.
import React, { useEffect, useRef } from "react";

export function PlotFigure({ make, deps, className, label }) {
  const ref = useRef(null);
  useEffect(() => {
    const element = make();
    ref.current?.replaceChildren(element);
    return () => element.remove();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return <div className={className} ref={ref} role="img" aria-label={label} />;
}
