// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-test-screen-grab FILE.png: saves a picture of the whole X display
// ($DISPLAY) to FILE.png, for tesseract to read what a user would see. It
// links Qt alone, so that it runs where none of Rewind's build tree is.
#include <QGuiApplication>
#include <QPixmap>
#include <QScreen>

#include <cstdio>

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "xcb");
    QGuiApplication app(argc, argv);
    if (argc != 2) {
        std::fprintf(stderr, "usage: rewind-test-screen-grab FILE.png\n");
        return 2;
    }
    QScreen *screen = QGuiApplication::primaryScreen();
    if (!screen || !screen->grabWindow(0).save(QString::fromLocal8Bit(argv[1]), "PNG")) {
        std::fprintf(stderr, "could not save a picture of the display to %s\n", argv[1]);
        return 1;
    }
    return 0;
}
