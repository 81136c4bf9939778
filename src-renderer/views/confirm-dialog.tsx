import { useEffect, useId, useRef, type ReactNode } from 'react';

// A small modal confirmation: focus goes to the confirm button, Escape cancels.
interface Props {
  title: string;
  confirmLabel: string;
  canConfirm: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children: ReactNode;
}

export function ConfirmDialog({ title, confirmLabel, canConfirm, onConfirm, onCancel, children }: Props) {
  const titleId = useId();
  const confirmRef = useRef<HTMLButtonElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    (canConfirm ? confirmRef : cancelRef).current?.focus();
  }, [canConfirm]);
  return (
    <div className="backdrop" onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} className="dialog">
        <h2 id={titleId}>{title}</h2>
        <p>{children}</p>
        <div className="dialog-buttons">
          <button type="button" ref={cancelRef} onClick={onCancel}>
            Cancel
          </button>
          {canConfirm && (
            <button type="button" ref={confirmRef} className="primary" onClick={onConfirm}>
              {confirmLabel}
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
