"""The dashboard: ``streamlit run dashboard.py`` (or ``gan-dashboard``, installed).

This script only names the pages, through Streamlit's `st.navigation`, so that the sidebar's menu reads
Train, Runs, Compare, Guide and Probe: with a pages/ folder alone, Streamlit names the main page after its
file ("dashboard"). Each page is a script of its own in pages/, run by Streamlit as before (``?run=ID``
and the other query parameters kept), and the Train view, the default, is at the app's root URL. Paths
are relative to this file; the Runs page is at ``/Runs``, and so on, from each file's name.
"""

import streamlit as st

from ui.starting import ignored_arguments_note, on_page

# No icons: Streamlit makes a page's icon the browser tab's icon, and for a Material icon that is an
# image fetched from fonts.gstatic.com at every page view (a request to Google from a dashboard that needs
# no network, and a console error offline); an emoji icon draws as a box where no emoji font is installed.
# The tab's icon is each page's `st.set_page_config(page_icon=...)`, drawn locally.
PAGES = [
    st.Page("pages/0_Train.py", title="Train", default=True),
    st.Page("pages/1_Runs.py", title="Runs"),
    st.Page("pages/2_Compare.py", title="Compare"),
    st.Page("pages/3_Guide.py", title="Guide"),
    st.Page("pages/4_Probe.py", title="Probe"),
]

page = st.navigation(PAGES)
# The menu's links showed keyboard focus only as the faint grey of a hover (Streamlit sets no outline on
# them): the focus ring Streamlit draws on buttons, on the link that has it. A page of style alone takes no
# room (`st.html`).
st.html(
    "<style>[data-testid='stSidebarNavLink']:focus-visible "
    "{outline: 2px solid rgba(255, 75, 75, 0.8); outline-offset: -2px;}</style>"
)
on_page(page)  # messages drawn on another page go (`ui.starting.on_page`)
ignored_arguments_note()
page.run()
