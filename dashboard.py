"""The dashboard: ``streamlit run dashboard.py`` (or ``gan-dashboard``, installed).

This script only names the pages, through Streamlit's `st.navigation`, so that the sidebar's menu reads
Train, Runs, Compare, Guide and Probe: with a pages/ folder alone, Streamlit names the main page after its
file ("dashboard"). Each page is a script of its own in pages/, run by Streamlit as before (``?run=ID``
and the other query parameters kept), and the Train view, the default, is at the app's root URL. Paths
are relative to this file; the Runs page is at ``/Runs``, and so on, from each file's name.
"""

import streamlit as st

from ui.starting import on_page

PAGES = [
    st.Page("pages/0_Train.py", title="Train", icon=":material/monitoring:", default=True),
    st.Page("pages/1_Runs.py", title="Runs", icon=":material/folder_open:"),
    st.Page("pages/2_Compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/3_Guide.py", title="Guide", icon=":material/menu_book:"),
    st.Page("pages/4_Probe.py", title="Probe", icon=":material/biotech:"),
]

page = st.navigation(PAGES)
on_page(page)  # messages drawn on another page go (`ui.starting.on_page`)
page.run()
