// SPDX-License-Identifier: GPL-2.0-or-later
#include "SessionView.h"

#include "KeySymbols.h"
#include "VncConnection.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QPainter>

namespace
{
// RFB's pointer button bits.
constexpr int leftButton = 1;
constexpr int middleButton = 2;
constexpr int rightButton = 4;
constexpr int wheelUp = 8;
constexpr int wheelDown = 16;
constexpr int wheelLeft = 32;
constexpr int wheelRight = 64;
/// One notch of a mouse wheel, in eighths of a degree.
constexpr int wheelStep = 120;

int buttonMaskOf(Qt::MouseButtons buttons)
{
    int mask = 0;
    if (buttons.testFlag(Qt::LeftButton)) {
        mask |= leftButton;
    }
    if (buttons.testFlag(Qt::MiddleButton)) {
        mask |= middleButton;
    }
    if (buttons.testFlag(Qt::RightButton)) {
        mask |= rightButton;
    }
    return mask;
}

/// The modifiers, the Qt key of each and the keysym that holds it down on the display.
struct ModifierKey {
    Qt::KeyboardModifier modifier;
    int key;
    quint32 keysym;
};
constexpr ModifierKey modifierKeys[] = {
    {Qt::ShiftModifier, Qt::Key_Shift, 0xffe1},
    {Qt::ControlModifier, Qt::Key_Control, 0xffe3},
    {Qt::AltModifier, Qt::Key_Alt, 0xffe9},
    {Qt::MetaModifier, Qt::Key_Meta, 0xffeb},
};
}

SessionView::SessionView(QWidget *parent)
    : QWidget(parent)
    , m_connection(new VncConnection(this))
{
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(320, 200);
    connect(m_connection, &VncConnection::frameChanged, this, &SessionView::takeFrame);
    connect(m_connection, &VncConnection::connected, this, [this] {
        // A new connection starts with nothing pressed; the display gets the clipboard it missed.
        m_pressedKeys.clear();
        m_sentModifiers = {};
        m_buttonMask = 0;
        if (m_interactive) {
            sendClipboard();
        }
    });
    connect(m_connection, &VncConnection::clipboardReceived, this, &SessionView::clipboardReceived);
    if (QClipboard *clipboard = QGuiApplication::clipboard()) {
        connect(clipboard, &QClipboard::dataChanged, this, &SessionView::sendClipboard);
    }
}

SessionView::~SessionView()
{
    releaseEverything();
}

void SessionView::setInteractive(bool interactive)
{
    if (interactive == m_interactive) {
        return;
    }
    if (!interactive) {
        releaseEverything();
    }
    m_interactive = interactive;
    setMouseTracking(interactive);
    setCursor(interactive ? Qt::BlankCursor : Qt::ArrowCursor); // the display draws its own
    if (interactive) {
        sendClipboard();
        setFocus(Qt::OtherFocusReason);
    }
}

void SessionView::setFitToWindow(bool fit)
{
    m_fitToWindow = fit;
    updateGeometry();
    if (!fit && !m_frame.isNull()) {
        resize(m_frame.size());
    }
    update();
}

void SessionView::setNote(const QString &note)
{
    m_note = note;
    update();
}

QSize SessionView::sizeHint() const
{
    return m_frame.isNull() ? QSize(640, 480) : m_frame.size();
}

QRect SessionView::pictureRect() const
{
    if (m_frame.isNull()) {
        return {};
    }
    if (!m_fitToWindow) {
        return m_frame.rect();
    }
    const QSize size = m_frame.size().scaled(this->size(), Qt::KeepAspectRatio);
    return QRect(QPoint((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

void SessionView::takeFrame()
{
    const QSize before = m_frame.size();
    m_frame = m_connection->frame();
    if (m_frame.size() != before) {
        updateGeometry();
        if (!m_fitToWindow) {
            resize(m_frame.size());
        }
    }
    update();
    Q_EMIT frameChanged();
}

void SessionView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Window).darker(150));
    const QRect picture = pictureRect();
    if (!m_frame.isNull()) {
        painter.setRenderHint(QPainter::SmoothPixmapTransform, picture.size() != m_frame.size());
        painter.drawImage(picture, m_frame);
    }
    if (m_note.isEmpty()) {
        return;
    }
    // Over the picture, readable on any screen.
    QRect box = painter.fontMetrics().boundingRect(rect().adjusted(20, 0, -20, 0), Qt::AlignCenter | Qt::TextWordWrap, m_note).adjusted(-12, -8, 12, 8);
    box.moveCenter(rect().center());
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0, 0, 0, 170));
    painter.drawRoundedRect(box, 6, 6);
    painter.setPen(Qt::white);
    painter.drawText(box, Qt::AlignCenter | Qt::TextWordWrap, m_note);
}

bool SessionView::event(QEvent *event)
{
    // While interactive, keys are the session's, but for the window's own shortcuts.
    if (event->type() == QEvent::ShortcutOverride && m_interactive) {
        auto *key = static_cast<QKeyEvent *>(event);
        const QKeySequence pressed(key->keyCombination());
        if (!m_reservedShortcuts.contains(pressed)) {
            event->accept();
            return true;
        }
    }
    return QWidget::event(event);
}

bool SessionView::focusNextPrevChild(bool next)
{
    // Tab belongs to the session while interactive.
    return m_interactive ? false : QWidget::focusNextPrevChild(next);
}

void SessionView::keyPressEvent(QKeyEvent *event)
{
    if (!m_interactive) {
        QWidget::keyPressEvent(event);
        return;
    }
    const quint32 keysym = keySymbolOf(event);
    if (keysym == 0) {
        return;
    }
    syncModifiers(event->modifiers());
    // A repeated key is pressed again without a release, as X repeats.
    m_pressedKeys.insert(event->key(), keysym);
    sendKey(keysym, true);
}

void SessionView::keyReleaseEvent(QKeyEvent *event)
{
    if (!m_interactive) {
        QWidget::keyReleaseEvent(event);
        return;
    }
    if (event->isAutoRepeat()) {
        return;
    }
    // The keysym of the press: Shift may have changed in between.
    const auto pressed = m_pressedKeys.constFind(event->key());
    if (pressed == m_pressedKeys.cend()) {
        return;
    }
    sendKey(*pressed, false);
    m_pressedKeys.erase(pressed);
}

void SessionView::syncModifiers(Qt::KeyboardModifiers modifiers)
{
    // A modifier held before this widget had the focus was never sent as a key.
    for (const ModifierKey &modifierKey : modifierKeys) {
        const bool held = modifiers.testFlag(modifierKey.modifier);
        const bool sentAsKey = m_pressedKeys.contains(modifierKey.key);
        const bool sentHere = m_sentModifiers.testFlag(modifierKey.modifier);
        if (held && !sentAsKey && !sentHere) {
            sendKey(modifierKey.keysym, true);
            m_sentModifiers.setFlag(modifierKey.modifier);
        } else if (!held && sentHere) {
            sendKey(modifierKey.keysym, false);
            m_sentModifiers.setFlag(modifierKey.modifier, false);
        }
    }
}

void SessionView::releaseEverything()
{
    if (!m_interactive) {
        return;
    }
    // Nothing stays pressed on the display when the keyboard goes elsewhere.
    for (auto pressed = m_pressedKeys.cbegin(); pressed != m_pressedKeys.cend(); ++pressed) {
        sendKey(pressed.value(), false);
    }
    m_pressedKeys.clear();
    syncModifiers(Qt::NoModifier);
    if (m_buttonMask != 0) {
        m_buttonMask = 0;
        m_connection->sendPointer(m_pointer, 0);
    }
}

void SessionView::focusOutEvent(QFocusEvent *event)
{
    releaseEverything();
    QWidget::focusOutEvent(event);
}

void SessionView::sendKey(quint32 keysym, bool down)
{
    m_connection->sendKey(keysym, down);
}

void SessionView::sendPointer(QPointF position, Qt::MouseButtons buttons)
{
    const QRect picture = pictureRect();
    if (picture.isEmpty()) {
        return;
    }
    // From the widget to the display's pixels, inside the display.
    const QPointF inPicture = position - picture.topLeft();
    const int x = qBound(0, int(inPicture.x() * m_frame.width() / picture.width()), m_frame.width() - 1);
    const int y = qBound(0, int(inPicture.y() * m_frame.height() / picture.height()), m_frame.height() - 1);
    m_pointer = QPoint(x, y);
    m_buttonMask = buttonMaskOf(buttons);
    m_connection->sendPointer(m_pointer, m_buttonMask);
}

void SessionView::mousePressEvent(QMouseEvent *event)
{
    if (!m_interactive) {
        QWidget::mousePressEvent(event);
        return;
    }
    setFocus(Qt::MouseFocusReason);
    sendPointer(event->position(), event->buttons());
}

void SessionView::mouseReleaseEvent(QMouseEvent *event)
{
    if (!m_interactive) {
        QWidget::mouseReleaseEvent(event);
        return;
    }
    sendPointer(event->position(), event->buttons());
}

void SessionView::mouseDoubleClickEvent(QMouseEvent *event)
{
    // The display counts the clicks itself: the second press is a press.
    mousePressEvent(event);
}

void SessionView::mouseMoveEvent(QMouseEvent *event)
{
    if (!m_interactive) {
        QWidget::mouseMoveEvent(event);
        return;
    }
    sendPointer(event->position(), event->buttons());
}

void SessionView::wheelEvent(QWheelEvent *event)
{
    if (!m_interactive) {
        QWidget::wheelEvent(event);
        return;
    }
    sendPointer(event->position(), event->buttons());
    // Each notch is a press and release of a wheel "button"; touchpads add up to notches.
    m_wheelRest += event->angleDelta();
    const auto click = [this](int button) {
        m_connection->sendPointer(m_pointer, m_buttonMask | button);
        m_connection->sendPointer(m_pointer, m_buttonMask);
    };
    for (; m_wheelRest.y() >= wheelStep; m_wheelRest.ry() -= wheelStep) {
        click(wheelUp);
    }
    for (; m_wheelRest.y() <= -wheelStep; m_wheelRest.ry() += wheelStep) {
        click(wheelDown);
    }
    for (; m_wheelRest.x() >= wheelStep; m_wheelRest.rx() -= wheelStep) {
        click(wheelLeft);
    }
    for (; m_wheelRest.x() <= -wheelStep; m_wheelRest.rx() += wheelStep) {
        click(wheelRight);
    }
    event->accept();
}

void SessionView::sendClipboard()
{
    QClipboard *clipboard = QGuiApplication::clipboard();
    if (!m_interactive || !clipboard || !m_connection->isOpen()) {
        return;
    }
    const QString text = clipboard->text();
    // What came from the display is not echoed back to it.
    if (text.isEmpty() || text == m_clipboardFromDisplay) {
        return;
    }
    m_connection->sendClipboard(text);
}

void SessionView::clipboardReceived(const QString &text)
{
    QClipboard *clipboard = QGuiApplication::clipboard();
    // A view only looks: the desktop's clipboard is not touched.
    if (!m_interactive || !clipboard) {
        return;
    }
    m_clipboardFromDisplay = text;
    clipboard->setText(text);
}
